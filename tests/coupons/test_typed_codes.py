"""coupons.typed_codes: the check character and how typed codes are read (no
database)."""

from __future__ import annotations

import itertools
import random

import pytest

from coupons import typed_codes
from coupons.typed_codes import ALPHABET, Reading, Shape

BODIES = ["0", "Z", "00000000", "9KX2ABCD", "ZZZZZZZZ", "0Z0Z0Z0Z", "1234567890ABCDEF"]


def test_alphabet_is_crockfords_base32():
    assert len(ALPHABET) == 32
    assert not set("ILOU") & set(ALPHABET)


@pytest.mark.parametrize(
    ("body", "check"),
    [
        # r = 2r XOR v over the body, check = 2r (GF(32) mod x^5 + x^2 + 1).
        ("0", "0"),
        ("1", "2"),
        ("G", "5"),  # G = 16: 2*16 = 32 -> 32 XOR 0b100101 = 5
        ("11", "6"),  # r = 1, then 2 XOR 1 = 3, check 6
        ("9KX2ABCD", "Y"),
    ],
)
def test_check_symbol_worked_examples(body, check):
    assert typed_codes.check_symbol(body) == check
    assert typed_codes.is_valid(body + check)


@pytest.mark.parametrize("body", BODIES)
def test_every_single_substitution_is_detected(body):
    code = body + typed_codes.check_symbol(body)
    for position, symbol in itertools.product(range(len(code)), ALPHABET):
        if symbol == code[position]:
            continue
        wrong = code[:position] + symbol + code[position + 1 :]
        assert not typed_codes.is_valid(wrong), wrong


@pytest.mark.parametrize("body", BODIES)
def test_every_adjacent_transposition_is_detected(body):
    code = body + typed_codes.check_symbol(body)
    for position in range(len(code) - 1):
        a, b = code[position], code[position + 1]
        if a == b:
            continue
        swapped = code[:position] + b + a + code[position + 2 :]
        assert not typed_codes.is_valid(swapped), swapped


def test_every_adjacent_pair_of_symbols_swapped_is_detected():
    # All 32 x 31 ordered pairs, before and after the check character (Luhn mod 32
    # would miss 0Z / Z0).
    for a, b in itertools.permutations(ALPHABET, 2):
        for body in (a + b + "K7", "K7" + a + b):
            code = body + typed_codes.check_symbol(body)
            swapped = code.replace(a + b, b + a, 1)
            assert not typed_codes.is_valid(swapped), (code, swapped)
        body = "K7" + a
        code = body + typed_codes.check_symbol(body)
        if code[-1] != code[-2]:
            assert not typed_codes.is_valid(code[:-2] + code[-1] + code[-2])


def test_check_symbols_in_bulk_match_one_at_a_time():
    rng = random.Random(20)
    for length in (1, 5, 8, 13):
        bodies = [
            "".join(rng.choice(ALPHABET) for _ in range(length)) for _ in range(300)
        ]
        checks = typed_codes.check_symbols("".join(bodies), length)
        assert list(checks) == [typed_codes.check_symbol(b) for b in bodies]
    assert typed_codes.check_symbols("", 8) == ""


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("9kx2-abcd-y", "9KX2ABCDY"),
        (" 9KX2 ABCD Y ", "9KX2ABCDY"),
        ("OIL", "011"),
        ("oil", "011"),
        ("u", "U"),
        ("ß-\u0131", "ß\u0131"),  # only ASCII changes (the dotless i stays)
    ],
)
def test_normalise(typed, normalised):
    assert typed_codes.normalise(typed) == normalised


def test_is_valid_refuses_what_is_not_a_code():
    assert not typed_codes.is_valid("")
    assert not typed_codes.is_valid("9KX2ABCDU")
    assert not typed_codes.is_valid("9kx2abcdy")  # is_valid takes normalised text


SHAPES = (Shape("BF", 8, ""), Shape("", 6, "X"))


@pytest.mark.parametrize(
    ("typed", "reading"),
    [
        # The shape of a check-character series, check right: normalised.
        ("BF9KX2ABCDY", Reading("BF9KX2ABCDY", checked=True)),
        ("bf-9kx2-abcd-y", Reading("BF9KX2ABCDY", checked=True)),
        (" B F 9 K X 2 A B C D Y ", Reading("BF9KX2ABCDY", checked=True)),
        # Check wrong: a typo, not looked up.
        ("BF9KX2ABCDZ", Reading(None, checked=True)),
        ("BF9KX2ABDCY", Reading(None, checked=True)),  # transposed
        ("bf9kx2abcdv", Reading(None, checked=True)),
        # Look-alikes read as digits: "O" is 0, "I"/"L" are 1.
        (
            "BFOKX2ABCD" + typed_codes.check_symbol("0KX2ABCD"),
            Reading("BF0KX2ABCD" + typed_codes.check_symbol("0KX2ABCD"), checked=True),
        ),
        (
            "BFLIX2ABCD" + typed_codes.check_symbol("11X2ABCD"),
            Reading("BF11X2ABCD" + typed_codes.check_symbol("11X2ABCD"), checked=True),
        ),
        # Not the shape: looked up as typed (one symbol short, long, other prefix,
        # a symbol outside the alphabet).
        ("BF9KX2ABC", Reading("BF9KX2ABC")),
        ("BF9KX2ABCDYY", Reading("BF9KX2ABCDYY")),
        ("BG9KX2ABCDZ", Reading("BG9KX2ABCDZ")),
        ("BF9KX2ABCUY", Reading("BF9KX2ABCUY")),
        ("summer-sale", Reading("summer-sale")),
        # The second shape (suffix).
        (
            "9kx2ab" + typed_codes.check_symbol("9KX2AB") + "x",
            Reading("9KX2AB" + typed_codes.check_symbol("9KX2AB") + "X", checked=True),
        ),
    ],
)
def test_read(typed, reading):
    assert typed_codes.read(typed, SHAPES) == reading


def test_read_without_shapes_is_the_code_as_typed():
    assert typed_codes.read("bf9kx2abcdz", ()) == Reading("bf9kx2abcdz")


@pytest.mark.parametrize(
    ("code", "reserved"),
    [
        ("BF9KX2ABCDY", False),  # a right code, stored normalised
        ("BF9KX2ABCDZ", True),  # would be read as a typo
        ("BF9KX2-ABCDY", True),  # would be read as BF9KX2ABCDY, not as itself
        ("bf9kx2abcdy", False),  # folds to itself
        ("BF9KX2ABC", False),  # another shape
        ("SUMMER", False),
    ],
)
def test_reserved_by(code, reserved):
    assert (typed_codes.reserved_by(code, SHAPES) is not None) is reserved


def test_shape_round_trips_through_its_stored_form():
    shape = Shape("BF", 8, "X")
    assert Shape.parse(shape.stored()) == shape
    assert shape.total_length == 12
    assert typed_codes.is_valid(shape.code("9KX2ABCD")[2:-1])
