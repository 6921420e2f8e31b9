"""Code formats: their space, random draws, sampling among free codes."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from series.codegen import ALPHANUMERIC, DIGITS, CodeSpec, _translation


def test_the_byte_table_drops_the_values_that_would_bias_the_draw():
    table, delete = _translation(ALPHANUMERIC)
    assert delete == bytes([252, 253, 254, 255])  # 252 = 7 x 36
    assert {chr(b) for b in table[:252]} == set(ALPHANUMERIC)
    assert Counter(table[:252]) == dict.fromkeys(ALPHANUMERIC.encode(), 7)
    _, delete = _translation(DIGITS)
    assert delete == bytes(range(250, 256))


@pytest.mark.parametrize(
    ("alpha_numeric", "length", "space", "regex"),
    [
        (False, 8, 10**8, r"^[0-9]{8}$"),
        (True, 8, 36**8, r"^[A-Z0-9]{8}$"),
        (False, 1, 10, r"^[0-9]{1}$"),
    ],
)
def test_space_and_draws_follow_the_format(alpha_numeric, length, space, regex):
    spec = CodeSpec.of(alpha_numeric=alpha_numeric, length=length, prefix="", suffix="")

    codes = spec.draw(2000)

    assert spec.space == space
    assert len(codes) == 2000
    assert all(re.match(regex, code) for code in codes)


def test_every_character_of_the_alphabet_is_drawn():
    spec = CodeSpec.of(alpha_numeric=True, length=10, prefix="", suffix="")

    seen = Counter("".join(spec.draw(5000)))

    assert set(seen) == set(ALPHANUMERIC)
    # 50,000 characters over 36: about 1,389 each; a biased table would be far off.
    assert min(seen.values()) > 1200
    assert max(seen.values()) < 1600


def test_prefix_and_suffix_wrap_the_random_part_and_the_regex_folds_case():
    spec = CodeSpec.of(alpha_numeric=False, length=4, prefix="sum-", suffix="_x")

    codes = spec.draw(100)

    assert all(re.match(r"^sum-[0-9]{4}_x$", code) for code in codes)
    assert spec.folded_regex == r"^SUM\-[0-9]{4}_X$"
    assert all(re.match(spec.folded_regex, code.upper()) for code in codes)
    assert not re.match(spec.folded_regex, "SUM-12345_X")
    assert spec.total_length == 10
    assert spec.describe() == "prefix 'sum-' + 4 random digits + suffix '_x'"


def test_distinct_codes_are_distinct():
    spec = CodeSpec.of(alpha_numeric=False, length=3, prefix="", suffix="")

    codes = spec.distinct(400)

    assert len(codes) == len(set(codes)) == 400


def test_distinct_stops_at_half_the_space():
    spec = CodeSpec.of(alpha_numeric=False, length=2, prefix="", suffix="")

    assert len(spec.distinct(99)) == 50


@pytest.mark.parametrize(
    ("alpha_numeric", "index", "body"),
    [
        (False, 7, "007"),
        (False, 999, "999"),
        (True, 0, "AAA"),
        (True, 36**3 - 1, "999"),
    ],
)
def test_body_of_an_index(alpha_numeric, index, body):
    spec = CodeSpec.of(alpha_numeric=alpha_numeric, length=3, prefix="", suffix="")

    assert spec.body_of(index) == body


def test_sample_free_avoids_taken_codes_and_can_take_the_last_one():
    spec = CodeSpec.of(alpha_numeric=False, length=2, prefix="a", suffix="")
    taken = {f"A{n:02d}" for n in range(100) if n != 42}

    assert spec.sample_free(1, taken) == ["a42"]


def test_sample_free_returns_all_free_codes_when_asked_for_all():
    spec = CodeSpec.of(alpha_numeric=False, length=2, prefix="", suffix="")
    taken = {f"{n:02d}" for n in range(0, 100, 3)}

    codes = spec.sample_free(100 - len(taken), taken)

    assert sorted(codes) == sorted(f"{n:02d}" for n in range(100) if n % 3)
