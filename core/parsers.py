"""The one JSON parser of every API endpoint: bounded in size and in nesting depth.

A request body is at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes (the same setting that
bounds Django's own ``request.body``, which the Idempotency-Key fingerprint reads):
a larger one is refused from its ``Content-Length`` before a byte is read, and the
read itself never takes more than the limit, whatever the header claims. Both paths
end in one reason, ``errors.PAYLOAD_TOO_LARGE`` (413), rendered by the calling dialect.

JSON nests at most ``MAX_JSON_DEPTH`` (64) arrays and objects deep. The standard
decoder recurses once per level, and so does everything that walks the result (the
serializers, the error flattening), so a 2 KB body of 1,000 ``[`` would reach
Python's recursion limit; the depth is counted without recursion before decoding and
anything deeper is a 400 (``malformed_body``). The deepest vendor payload (Capillary
v1.1 redeem) nests five levels; 64 leaves room and keeps every recursive walk far
from the limit.

Arrays and objects hold at most ``MAX_JSON_VALUES`` (5,000) values in all: DRF
validates every item of a list field, and builds an error for each bad one, before it
looks at the list's length, so a 1 MB list of 300,000 bad items cost 15-20 s of CPU
(and a Shoplazza error body of 11 MB). The largest ordinary body (a PayNow coupon
naming 1,000 products and 1,000 tags) holds about 2,000; more is a 400.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from django.conf import settings
from rest_framework import exceptions, negotiation, parsers
from rest_framework.utils.json import strict_constant

MAX_JSON_DEPTH = 64
MAX_JSON_VALUES = 5_000

# A JSON string (escapes included), whose content never nests; one left open runs to
# the end. Possessive and never failing, so the scan is linear: a pattern that must
# find the closing quote retries from every quote of an unclosed string (20 s for
# 32 KB of escaped quotes).
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_EMPTY = re.compile(r"[\[{][ \t\n\r]*[\]}]")


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "payload_too_large"


def max_body_bytes() -> int | None:
    """The largest request body accepted (None: no limit), read per request."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def too_large_message() -> str:
    return f"The request body is larger than {max_body_bytes()} bytes."


def declared_length(meta: Any) -> int:
    try:
        return int(meta.get("CONTENT_LENGTH") or 0)
    except (TypeError, ValueError):
        return 0


def check_declared_size(meta: Any) -> None:
    """Refuse a body whose ``Content-Length`` is over the limit, before reading it."""
    limit = max_body_bytes()
    if limit is not None and declared_length(meta) > limit:
        raise PayloadTooLarge(too_large_message())


def check_shape(text: str) -> None:
    """Raise ``ValueError`` when ``text`` nests arrays and objects deeper than
    ``MAX_JSON_DEPTH`` or holds more than ``MAX_JSON_VALUES`` values in them; counted
    without recursion and without decoding."""
    opens = text.count("[") + text.count("{")
    if opens <= MAX_JSON_DEPTH and opens + text.count(",") <= MAX_JSON_VALUES:
        return  # can be neither too deep nor too long: every ordinary body
    structure = _STRING.sub('""', text)  # what is inside a string does not count
    brackets = _NOT_BRACKET.sub("", structure)
    if max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > MAX_JSON_DEPTH:
        raise ValueError(f"nesting deeper than {MAX_JSON_DEPTH} levels.")
    # A non-empty array or object holds one value more than it has commas.
    opens = brackets.count("[") + brackets.count("{")
    values = structure.count(",") + opens - len(_EMPTY.findall(structure))
    if values > MAX_JSON_VALUES:
        raise ValueError(f"more than {MAX_JSON_VALUES} values in arrays and objects.")


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with limits of size, nesting and values (the module doc)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context.get("request")
        if request is not None:
            check_declared_size(request.META)
        encoding = parsers.get_encoding(parser_context)
        limit = max_body_bytes()
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise PayloadTooLarge(too_large_message())
        try:
            text = raw.decode(encoding)
            check_shape(text)
            parse_constant = strict_constant if self.strict else None
            return json.loads(text, parse_constant=parse_constant)
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc


def is_json_media_type(content_type: str) -> bool:
    """``application/json``, ``text/json`` or any ``application/*+json`` (RFC 6839
    structured syntax suffix), whatever the parameters: the request media types
    PayNow's OpenAPI document lists for its bodies."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    main, _, sub = media_type.partition("/")
    return (main, sub) in (("application", "json"), ("text", "json")) or (
        main == "application" and sub.endswith("+json") and len(sub) > len("+json")
    )


class JSONNegotiation(negotiation.DefaultContentNegotiation):
    """DRF's negotiation, with every JSON media type read by the JSON parser: DRF
    matches a parser's one media type exactly, so ``text/json`` and
    ``application/merge-patch+json`` bodies were refused with a 415."""

    def select_parser(self, request, parsers):
        if is_json_media_type(request.content_type or ""):
            for parser in parsers:
                if isinstance(parser, JSONParser):
                    return parser
        return super().select_parser(request, parsers)
