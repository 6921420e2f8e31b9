"""CSV that a spreadsheet opens as data, never as formulas (OWASP "CSV Injection").

Every CSV the product writes goes through ``writer``. A text cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel, LibreOffice
and Google Sheets as a formula (``=HYPERLINK(...)``, ``-2+3``, ``@SUM(...)``); such a
cell is written with a leading ``'``, which those programs take as "this is text"
and do not show. Codes are the usual carrier: a NewStore pattern or an uploaded
list can make ``=1+1``. Numbers, booleans and empty cells are written unchanged (an
``int`` cannot carry a formula); the csv module quotes what needs quoting, so a
cell cannot spill into the next one either. The JSON lines export keeps the exact
values, for programs that read the data back.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def cell(value: object) -> object:
    """``value`` as a CSV cell a spreadsheet will not evaluate."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


class Writer:
    """``csv.writer`` whose rows are neutralised cell by cell (``cell``)."""

    def __init__(self, out: _Writable) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: _Writable) -> Writer:
    return Writer(out)
