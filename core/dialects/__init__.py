"""Dialect error rendering: one error table per vendor, one exception handler."""

from core.dialects.base import Dialect, ErrorSpec, exception_handler

__all__ = ["Dialect", "ErrorSpec", "exception_handler"]
