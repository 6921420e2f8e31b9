"""Coupon codes from a regular expression (NewStore's ``pattern``).

A safe subset of the regular-expression syntax shared by Python, PCRE and JavaScript
is accepted: literals, escaped punctuation (``\\-``, ``\\.``), ``.``, classes and
ranges (``[A-Z0-9_]``, ``[^0O]``), ``\\d \\D \\w \\W \\S``, ``\\xHH``/``\\uHHHH``,
groups (``(...)``, ``(?:...)``, ``(?P<name>...)``), alternation, and the bounded
quantifiers ``?``, ``{n}``, ``{n,m}``, ``{,m}`` (a lazy ``?`` after them is ignored);
``^`` first and ``$`` last are accepted and ignored (a code always matches whole).
Refused, with a message naming the problem and its position: ``*``, ``+`` and
``{n,}`` (the code space must be finite: write ``{1,8}``), whitespace, characters
outside printable ASCII, back-references, look-arounds, inline flags, anchors and
word boundaries elsewhere, an unescaped ``{`` that is not a quantifier, a pattern that
can produce an empty code or one longer than ``MAX_CODE_LENGTH``, and patterns too big
to analyse (``MAX_POSITIONS``/``MAX_STATES``).

Codes are unique per store *case-insensitively*, so the code space is counted over
codes folded to upper case: ``[a-zA-Z]`` has 26 codes, not 52. The pattern becomes a
Glushkov automaton, determinised over folded characters; counting the paths of that
DFA gives the exact number of distinct codes (an ambiguous pattern such as
``(A|A)`` or ``[A-Z]{1,2}[A-Z]{1,2}`` is counted right), and numbering them in DFA
order turns "pick a free code" into "pick a free number" (``folded_at``/``index_of``).
A folded code is finally given a spelling in the pattern's own letter case
(``code_for``), so every generated code matches the pattern, case-sensitively.
"""

from __future__ import annotations

import re
import secrets
import string
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from coupons.codes import fold_code

# Generated codes use printable ASCII without spaces; a case-insensitive unique index
# and every vendor client handle those the same way.
ALPHABET = frozenset(chr(code) for code in range(0x21, 0x7F))
DIGITS = frozenset(string.digits)
WORD = frozenset(string.ascii_letters + string.digits + "_")
MAX_CODE_LENGTH = 100  # coupons.Coupon.code
MAX_PATTERN_LENGTH = 500  # legacy.LegacyDefinition.pattern
MAX_REPEAT = 100
MAX_DEPTH = 50
MAX_POSITIONS = 2_000
MAX_STATES = 5_000
MAX_WORK = 3_000_000

_ESCAPED_CLASSES = {
    "d": DIGITS,
    "D": ALPHABET - DIGITS,
    "w": WORD,
    "W": ALPHABET - WORD,
    "S": ALPHABET,
}
_WHITESPACE_ESCAPES = set("sntrfva")
_ANCHOR_ESCAPES = set("bBAZzG")
_HEX_DIGITS = {"x": 2, "u": 4, "U": 8}
_QUANTIFIER = re.compile(r"\{(\d*)(,?)(\d*)\}")


class PatternError(ValueError):
    """The pattern is not valid, or not in the supported subset."""

    def __init__(self, message: str, position: int | None = None) -> None:
        if position is not None:
            message = f"{message} (at position {position})"
        super().__init__(message)
        self.message = message


def fold(char: str) -> str:
    """How codes are compared (``coupons.codes.fold_code``): ASCII letters in upper
    case, nothing else changed."""
    return fold_code(char)


# --- syntax tree ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Chars:
    chars: frozenset[str]


@dataclass(frozen=True)
class _Seq:
    items: tuple


@dataclass(frozen=True)
class _Alt:
    options: tuple


@dataclass(frozen=True)
class _Repeat:
    item: object
    low: int
    high: int


_EMPTY = _Seq(())


def _describe(char: str) -> str:
    if char == " ":
        return "a space"
    if char.isspace() or not char.isprintable():
        return f"the control character {char!r}"
    return repr(char)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self.depth = 0

    def peek(self, offset: int = 0) -> str | None:
        at = self.pos + offset
        return self.source[at] if at < len(self.source) else None

    def fail(self, message: str, position: int | None = None) -> PatternError:
        return PatternError(message, self.pos if position is None else position)

    def parse(self):
        if self.peek() == "^":
            self.pos = 1
        node = self.alternation()
        if self.peek() == ")":
            raise self.fail("unbalanced parenthesis: ')' without '('")
        return node

    def alternation(self):
        options = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            options.append(self.sequence())
        return options[0] if len(options) == 1 else _Alt(tuple(options))

    def sequence(self):
        items = []
        while self.peek() not in (None, "|", ")"):
            items.append(self.quantified())
        return items[0] if len(items) == 1 else _Seq(tuple(items))

    def quantified(self):
        atom = self.atom()
        bounds = self.quantifier()
        if bounds is None:
            return atom
        if self.peek() == "?":  # lazy: the same set of codes
            self.pos += 1
        if self.peek() == "+":
            raise self.fail("possessive quantifiers are not supported")
        if self.peek() in ("?", "*") or self.quantifier(probe=True):
            raise self.fail("multiple repeat")
        return _Repeat(atom, *bounds)

    def quantifier(self, *, probe: bool = False) -> tuple[int, int] | None:
        char = self.peek()
        if char in ("*", "+"):
            if probe:
                return (0, 0)
            raise self.fail(
                f"the unbounded quantifier '{char}' is not supported: the code space "
                "must be finite, so give a maximum length, e.g. {1,8}"
            )
        if char == "?":
            if not probe:
                self.pos += 1
            return (0, 1)
        if char != "{":
            return None
        match = _QUANTIFIER.match(self.source, self.pos)
        if match is None or (not match.group(1) and not match.group(2)):
            if probe:
                return None
            raise self.fail("a literal '{' must be escaped as '\\{'")
        if probe:
            return (0, 0)
        low_text, comma, high_text = match.groups()
        if comma and not high_text:
            raise self.fail(
                "the unbounded quantifier '{n,}' is not supported: the code space "
                "must be finite, so give a maximum, e.g. {1,8}"
            )
        low = int(low_text) if low_text else 0
        high = int(high_text) if comma else low
        if high < low:
            raise self.fail("min repeat greater than max repeat")
        if high > MAX_REPEAT:
            raise self.fail(f"a repeat count cannot exceed {MAX_REPEAT}")
        self.pos = match.end()
        return (low, high)

    def atom(self):
        char = self.peek()
        if char == "(":
            return self.group()
        if char == "[":
            return self.char_class()
        if char == ".":
            self.pos += 1
            return _Chars(ALPHABET)
        if char == "\\":
            value = self.escape(in_class=False)
            return _Chars(value if isinstance(value, frozenset) else frozenset(value))
        if char in ("*", "+", "?"):
            raise self.fail("nothing to repeat")
        if char == "{":
            raise self.fail("a literal '{' must be escaped as '\\{'")
        if char == "^":
            raise self.fail("'^' is only allowed as the first character")
        if char == "$":
            if self.pos != len(self.source) - 1:
                raise self.fail("'$' is only allowed as the last character")
            self.pos += 1
            return _EMPTY
        return _Chars(frozenset(self.literal()))

    def literal(self) -> str:
        char = self.source[self.pos]
        if char not in ALPHABET:
            raise self.fail(
                f"{_describe(char)} cannot be part of a code (codes use printable "
                "ASCII characters without spaces)"
            )
        self.pos += 1
        return char

    def group(self):
        start = self.pos
        self.pos += 1
        if self.peek() == "?":
            if self.peek(1) == ":":
                self.pos += 2
            elif self.peek(1) == "P" and self.peek(2) == "<":
                end = self.source.find(">", self.pos)
                name = self.source[self.pos + 3 : end] if end != -1 else ""
                if not name.isidentifier():
                    raise self.fail("bad group name")
                self.pos = end + 1
            else:
                raise self.fail(
                    "only (...), (?:...) and (?P<name>...) groups are supported "
                    "(no look-arounds, inline flags or back-references)"
                )
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"groups cannot nest deeper than {MAX_DEPTH}")
        node = self.alternation()
        self.depth -= 1
        if self.peek() != ")":
            raise self.fail("missing ')', unterminated subpattern", start)
        self.pos += 1
        return node

    def escape(self, *, in_class: bool) -> str | frozenset[str]:
        start = self.pos
        if self.pos + 1 >= len(self.source):
            raise self.fail("the pattern ends with a lone backslash")
        char = self.source[self.pos + 1]
        self.pos += 2
        if char in _ESCAPED_CLASSES:
            return _ESCAPED_CLASSES[char]
        if char in _WHITESPACE_ESCAPES:
            raise self.fail(
                f"'\\{char}' stands for whitespace or a control character, which "
                "cannot be part of a code",
                start,
            )
        if in_class and char == "b":
            raise self.fail(
                "'\\b' inside a class is a backspace, which cannot be part of a code",
                start,
            )
        if char in _ANCHOR_ESCAPES:
            raise self.fail(
                f"'\\{char}' (an anchor or word boundary) is not supported", start
            )
        if char.isdigit():
            raise self.fail(
                "back-references and octal escapes are not supported", start
            )
        if char in _HEX_DIGITS:
            width = _HEX_DIGITS[char]
            digits = self.source[self.pos : self.pos + width]
            if len(digits) != width or any(d not in string.hexdigits for d in digits):
                raise self.fail(f"'\\{char}' needs {width} hex digits", start)
            self.pos += width
            value = chr(int(digits, 16))
            if value not in ALPHABET:
                raise self.fail(f"{_describe(value)} cannot be part of a code", start)
            return value
        if char.isascii() and char.isalpha():
            raise self.fail(f"unknown escape '\\{char}'", start)
        if char not in ALPHABET:
            raise self.fail(f"{_describe(char)} cannot be part of a code", start)
        return char

    def class_item(self) -> str | frozenset[str]:
        if self.peek() == "\\":
            return self.escape(in_class=True)
        if self.peek() == "[":
            raise self.fail("write a literal '[' inside a class as '\\['")
        return self.literal()

    def char_class(self) -> _Chars:
        start = self.pos
        self.pos += 1
        negate = self.peek() == "^"
        if negate:
            self.pos += 1
        chars: set[str] = set()
        first = True
        while True:
            char = self.peek()
            if char is None:
                raise self.fail("missing ']', unterminated character set", start)
            if char == "]" and not first:
                self.pos += 1
                break
            first = False
            item_at = self.pos
            low = self.class_item()
            is_range = self.peek() == "-" and self.peek(1) not in (None, "]")
            if not is_range:
                chars.update(low)
                continue
            self.pos += 1
            high = self.class_item()
            if isinstance(low, frozenset) or isinstance(high, frozenset):
                raise self.fail("bad character range", item_at)
            if ord(high) < ord(low):
                raise self.fail(f"bad character range {low}-{high}", item_at)
            chars.update(chr(code) for code in range(ord(low), ord(high) + 1))
        result = ALPHABET - chars if negate else frozenset(chars)
        if not result:
            raise self.fail("the class matches no character a code can hold", start)
        return _Chars(result)


# --- analysis ------------------------------------------------------------------------


def _positions(node) -> int:
    if isinstance(node, _Chars):
        return 1
    if isinstance(node, _Seq):
        return sum(_positions(item) for item in node.items)
    if isinstance(node, _Alt):
        return sum(_positions(option) for option in node.options)
    return node.high * _positions(node.item)


def _lengths(node) -> tuple[int, int]:
    if isinstance(node, _Chars):
        return 1, 1
    if isinstance(node, _Seq):
        pairs = [_lengths(item) for item in node.items]
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)
    if isinstance(node, _Alt):
        pairs = [_lengths(option) for option in node.options]
        return min(p[0] for p in pairs), max(p[1] for p in pairs)
    low, high = _lengths(node.item)
    return node.low * low, node.high * high


@dataclass
class _Fragment:
    nullable: bool
    first: set[int]
    last: set[int]


class _Glushkov:
    """Positions (one per character set of the unrolled pattern) and their follows."""

    def __init__(self) -> None:
        self.chars: list[frozenset[str]] = [frozenset()]  # 0 is the start state
        self.follow: list[set[int]] = [set()]

    def build(self, node) -> _Fragment:
        if isinstance(node, _Chars):
            self.chars.append(node.chars)
            self.follow.append(set())
            position = len(self.chars) - 1
            return _Fragment(False, {position}, {position})
        if isinstance(node, _Seq):
            result = _Fragment(True, set(), set())
            for item in node.items:
                result = self.concat(result, self.build(item))
            return result
        if isinstance(node, _Alt):
            result = _Fragment(False, set(), set())
            for option in node.options:
                built = self.build(option)
                result = _Fragment(
                    result.nullable or built.nullable,
                    result.first | built.first,
                    result.last | built.last,
                )
            return result
        copies = [self.build(node.item) for _ in range(node.high)]
        # x{lo,hi} = x..x (x(x(...)?)?)?: the optional tail nests, right to left.
        tail = _Fragment(True, set(), set())
        for copy in reversed(copies[node.low :]):
            linked = self.concat(copy, tail)
            tail = _Fragment(True, linked.first, linked.last)
        result = _Fragment(True, set(), set())
        for copy in copies[: node.low]:
            result = self.concat(result, copy)
        return self.concat(result, tail)

    def concat(self, left: _Fragment, right: _Fragment) -> _Fragment:
        for position in left.last:
            self.follow[position] |= right.first
        return _Fragment(
            left.nullable and right.nullable,
            left.first | (right.first if left.nullable else set()),
            right.last | (left.last if right.nullable else set()),
        )


@dataclass(frozen=True)
class CodePattern:
    """A compiled pattern: its exact code space, and numbered access to its codes."""

    source: str
    min_length: int
    max_length: int
    size: int
    prefix: str  # the upper-case literal every code starts with
    _succ: tuple[tuple[int, ...], ...] = field(repr=False)
    _spellings: tuple[dict[str, tuple[str, ...]], ...] = field(repr=False)
    _final: frozenset[int] = field(repr=False)
    _rows: tuple[tuple[tuple[str, int], ...], ...] = field(repr=False)
    _accepting: tuple[bool, ...] = field(repr=False)
    _counts: tuple[int, ...] = field(repr=False)

    def folded_at(self, index: int) -> str:
        """The ``index``-th code (0-based, upper case) in DFA order."""
        if not 0 <= index < self.size:
            raise IndexError(index)
        state, out = 0, []
        while True:
            if self._accepting[state]:
                if index == 0:
                    return "".join(out)
                index -= 1
            for char, target in self._rows[state]:
                count = self._counts[target]
                if index < count:
                    out.append(char)
                    state = target
                    break
                index -= count

    def index_of(self, code: str) -> int | None:
        """The number of a code (any letter case), or None when it is not a code."""
        state, index = 0, 0
        for char in code:
            char = fold(char)
            if self._accepting[state]:
                index += 1
            for candidate, target in self._rows[state]:
                if candidate == char:
                    state = target
                    break
                index += self._counts[target]
            else:
                return None
        return index if self._accepting[state] else None

    def code_for(self, folded: str) -> str:
        """A spelling of an upper-case code in the pattern's own letter case."""
        reached: list[dict[int, list[int]]] = []
        current: Iterable[int] = (0,)
        for char in folded:
            step: dict[int, list[int]] = {}
            for position in current:
                for target in self._succ[position]:
                    if char in self._spellings[target]:
                        step.setdefault(target, []).append(position)
            if not step:
                raise ValueError(f"{folded!r} is not a code of {self.source!r}")
            reached.append(step)
            current = step
        ends = [position for position in current if position in self._final]
        if not ends:
            raise ValueError(f"{folded!r} is not a code of {self.source!r}")
        position, out = secrets.choice(ends), []
        for at in range(len(folded) - 1, -1, -1):
            out.append(secrets.choice(self._spellings[position][folded[at]]))
            position = secrets.choice(reached[at][position])
        return "".join(reversed(out))

    def random_code(self) -> str:
        return self.code_for(self.folded_at(secrets.randbelow(self.size)))

    def matches(self, code: str) -> bool:
        return self.index_of(code) is not None


def _determinise(glushkov: _Glushkov, final: frozenset[int]):
    succ = [tuple(sorted(s)) for s in glushkov.follow]
    folded = [frozenset(fold(c) for c in chars) for chars in glushkov.chars]
    index: dict[frozenset[int], int] = {frozenset({0}): 0}
    order = [frozenset({0})]
    rows: list[tuple[tuple[str, int], ...]] = []
    work = 0
    at = 0
    while at < len(order):
        state = order[at]
        at += 1
        targets = set()
        for position in state:
            targets.update(succ[position])
        moves: dict[str, set[int]] = {}
        for target in targets:
            work += len(folded[target])
            for char in folded[target]:
                moves.setdefault(char, set()).add(target)
        if work > MAX_WORK:
            raise PatternError("the pattern is too complex to analyse; simplify it")
        row = []
        for char in sorted(moves):
            key = frozenset(moves[char])
            if key not in index:
                if len(order) >= MAX_STATES:
                    raise PatternError(
                        "the pattern is too complex to analyse; simplify it"
                    )
                index[key] = len(order)
                order.append(key)
            row.append((char, index[key]))
        rows.append(tuple(row))
    accepting = tuple(bool(state & final) for state in order)
    # The language is finite, so the DFA is acyclic; depth <= MAX_CODE_LENGTH + 1.
    counts: list[int | None] = [None] * len(order)

    def count(state: int) -> int:
        known = counts[state]
        if known is None:
            known = int(accepting[state]) + sum(count(t) for _, t in rows[state])
            counts[state] = known
        return known

    count(0)
    return succ, tuple(rows), accepting, tuple(c or 0 for c in counts)


@lru_cache(maxsize=512)
def compile_pattern(source: str) -> CodePattern:
    """Check a pattern and compile it; ``PatternError`` says what is wrong."""
    if not isinstance(source, str) or not source:
        raise PatternError("the pattern is empty")
    if len(source) > MAX_PATTERN_LENGTH:
        raise PatternError(
            f"the pattern is longer than {MAX_PATTERN_LENGTH} characters"
        )
    tree = _Parser(source).parse()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            re.compile(source)
    except re.error as exc:  # our subset must never accept what `re` rejects
        raise PatternError(f"not a valid regular expression: {exc}") from exc
    min_length, max_length = _lengths(tree)
    if min_length == 0:
        raise PatternError("the pattern can produce an empty code")
    if max_length > MAX_CODE_LENGTH:
        raise PatternError(
            f"the pattern can produce codes of {max_length} characters; a code has "
            f"at most {MAX_CODE_LENGTH}"
        )
    if _positions(tree) > MAX_POSITIONS:
        raise PatternError("the pattern is too large to analyse; simplify it")
    glushkov = _Glushkov()
    root = glushkov.build(tree)
    final = frozenset(root.last)
    succ_of_start = root.first
    glushkov.follow[0] = set(succ_of_start)
    succ, rows, accepting, counts = _determinise(glushkov, final)
    spellings = []
    for chars in glushkov.chars:
        by_fold: dict[str, list[str]] = {}
        for char in sorted(chars):
            by_fold.setdefault(fold(char), []).append(char)
        spellings.append({key: tuple(value) for key, value in by_fold.items()})
    prefix, state = [], 0
    while not accepting[state] and len(rows[state]) == 1:
        char, state = rows[state][0]
        prefix.append(char)
    return CodePattern(
        source=source,
        min_length=min_length,
        max_length=max_length,
        size=counts[0],
        prefix="".join(prefix),
        _succ=tuple(succ),
        _spellings=tuple(spellings),
        _final=final,
        _rows=rows,
        _accepting=accepting,
        _counts=counts,
    )
