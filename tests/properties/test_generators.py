"""Properties of the code generators: every code fits its format, none repeats, and
the counted code space is the real one."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import DomainError
from legacy.errors import RULE_CONFLICT
from legacy.patterns import compile_pattern
from legacy.services import _narrower_end, _narrower_start
from series.codegen import CodeSpec

affix = st.text(alphabet="ABCXYZ-_019", max_size=4)


@settings(max_examples=60, deadline=None)
@given(
    alpha_numeric=st.booleans(),
    length=st.integers(min_value=1, max_value=12),
    prefix=affix,
    suffix=affix,
    count=st.integers(min_value=1, max_value=300),
)
def test_series_codes_match_their_format_and_are_distinct(
    alpha_numeric, length, prefix, suffix, count
):
    spec = CodeSpec.of(
        alpha_numeric=alpha_numeric, length=length, prefix=prefix, suffix=suffix
    )
    codes = spec.distinct(count)
    assert len(codes) == min(count, spec.space // 2)
    assert len(set(codes)) == len(codes)
    pattern = re.compile(spec.folded_regex)
    for code in codes:
        assert pattern.fullmatch(code.upper()), (code, spec)
        assert len(code) == spec.total_length


@settings(max_examples=40, deadline=None)
@given(length=st.integers(min_value=1, max_value=3), taken=st.integers(0, 5))
def test_sampling_a_small_space_skips_taken_codes(length, taken):
    spec = CodeSpec.of(alpha_numeric=False, length=length, prefix="P", suffix="")
    used = {spec.prefix + spec.body_of(i) for i in range(min(taken, spec.space))}
    free = spec.sample_free(spec.space, {code.upper() for code in used})
    assert len(free) == spec.space - len(used)
    assert not set(free) & used


# Patterns built from the supported subset: literal, class, alternation, bounded
# repetition; small enough to enumerate.
atoms = st.sampled_from(
    ["A", "b", "7", "-", "[0-3]", "[A-C]", "[xy]", r"\d", "(Q|R)", "(1|22)"]
)
pieces = st.tuples(atoms, st.sampled_from(["", "?", "{2}", "{1,2}"])).map("".join)
required = st.tuples(atoms, st.sampled_from(["", "{2}", "{1,2}"])).map("".join)
# The first piece is never optional: a pattern that can make an empty code is refused.
patterns = st.tuples(required, st.lists(pieces, max_size=3)).map(
    lambda parts: parts[0] + "".join(parts[1])
)


@settings(max_examples=80, deadline=None)
@given(source=patterns, picks=st.lists(st.integers(min_value=0), max_size=20))
def test_regex_codes_fully_match_and_are_numbered_without_repeats(source, picks):
    pattern = compile_pattern(source)
    regex = re.compile(source, re.IGNORECASE)
    assert pattern.size >= 1
    seen = set()
    for pick in picks:
        index = pick % pattern.size
        code = pattern.folded_at(index)
        assert regex.fullmatch(code), (source, code)
        assert pattern.index_of(code) == index
        seen.add(code)
    for _ in range(10):
        code = pattern.random_code()
        assert regex.fullmatch(code), (source, code)
        assert pattern.matches(code)


@settings(max_examples=40, deadline=None)
@given(source=patterns)
def test_regex_code_space_is_counted_exactly(source):
    pattern = compile_pattern(source)
    if pattern.size > 2000:
        return
    codes = {pattern.folded_at(i) for i in range(pattern.size)}
    assert len(codes) == pattern.size


# Hypothesis wants naive bounds; the generated values carry UTC.
moments = st.none() | st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001
    max_value=datetime(2030, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


def _outcome(combine, base, own):
    """The combined value, or the reason of the refusal."""
    try:
        return combine(base, own, "definition"), None
    except DomainError as exc:
        return None, exc.reason


@settings(max_examples=200, deadline=None)
@given(base_start=moments, base_end=moments, own_start=moments, own_end=moments)
def test_a_coupons_window_only_narrows_its_definitions(
    base_start, base_end, own_start, own_end
):
    """valid_from/valid_to combination: the coupon's own rule wins when it narrows
    the definition's window, is a conflict (409) when it would widen it, and the
    result always lies inside the definition's window."""
    start, refused = _outcome(_narrower_start, base_start, own_start)
    widens = own_start is not None and base_start is not None and own_start < base_start
    assert refused == (RULE_CONFLICT if widens else None)
    if not widens:
        assert start == (own_start if own_start is not None else base_start)
        assert base_start is None or start >= base_start
    end, refused = _outcome(_narrower_end, base_end, own_end)
    widens = own_end is not None and base_end is not None and own_end > base_end
    assert refused == (RULE_CONFLICT if widens else None)
    if not widens:
        assert end == (own_end if own_end is not None else base_end)
        assert base_end is None or end <= base_end
