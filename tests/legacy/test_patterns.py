"""The code generator: which patterns it takes, how big their code space is, and
that every code it makes fully matches its pattern."""

from __future__ import annotations

import itertools
import re

import pytest

from legacy.patterns import (
    MAX_CODE_LENGTH,
    PatternError,
    compile_pattern,
)


def _all_codes(pattern: str) -> list[str]:
    compiled = compile_pattern(pattern)
    return [compiled.folded_at(index) for index in range(compiled.size)]


def _brute_force(pattern: str, alphabet: str, max_length: int) -> set[str]:
    """Every upper-case string over ``alphabet`` the pattern matches, ignoring case."""
    found = set()
    for length in range(1, max_length + 1):
        for chars in itertools.product(alphabet, repeat=length):
            candidate = "".join(chars)
            if re.fullmatch(pattern, candidate, re.IGNORECASE):
                found.add(candidate)
    return found


def test_the_seed_pattern_has_its_full_code_space_and_every_code_matches():
    compiled = compile_pattern("coupondef-[A-Z]{3}[0-9]{3}")

    assert compiled.size == 26**3 * 10**3
    assert (compiled.min_length, compiled.max_length) == (16, 16)
    assert compiled.prefix == "COUPONDEF-"
    codes = [compiled.random_code() for _ in range(300)]
    assert all(re.fullmatch("coupondef-[A-Z]{3}[0-9]{3}", code) for code in codes)
    assert len(set(codes)) > 290  # random over 17.5 million codes


@pytest.mark.parametrize(
    ("pattern", "size", "samples"),
    [
        ("(SUMMER|WINTER)-\\d{4}", 20_000, {"SUMMER-", "WINTER-"}),
        ("(?:GOLD|SILVER)-[0-9]", 20, {"GOLD-", "SILVER"}),
        ("loyalty-(gold|silver|bronze)", 3, {"loyalty-gold", "loyalty-silv"}),
        ("(A|B|C)(1|2)", 6, {"A", "B", "C"}),
    ],
)
def test_alternations_count_and_produce_every_branch(pattern, size, samples):
    compiled = compile_pattern(pattern)

    assert compiled.size == size
    codes = {compiled.random_code() for _ in range(400)}
    assert all(re.fullmatch(pattern, code) for code in codes)
    for start in samples:
        assert any(code.startswith(start) for code in codes), start


@pytest.mark.parametrize(
    ("pattern", "alphabet", "max_length"),
    [
        ("[ab]{1,3}", "AB", 3),
        ("(a|ab)(c|bcd)", "ABCD", 5),
        ("(?:ab|cd){0,3}x", "ABCDX", 7),
        ("[A-C]{1,2}[A-C]{1,2}", "ABC", 4),
        ("(A|A)B?", "AB", 2),
        ("[a-cA-C]-\\d", "ABC-0123456789", 3),
        ("x(y|Y|z)?", "XYZ", 2),
        ("(ab|a)(b|bb)", "AB", 4),
    ],
)
def test_the_code_space_is_the_exact_set_of_distinct_codes(
    pattern, alphabet, max_length
):
    """Ambiguous patterns and letter case never count a code twice."""
    codes = _all_codes(pattern)

    assert len(codes) == len(set(codes))
    assert set(codes) == _brute_force(pattern, alphabet, max_length)


@pytest.mark.parametrize(
    ("pattern", "size"),
    [
        ("[a-zA-Z]", 26),  # codes are unique case-insensitively
        ("[Aa][Bb]", 1),
        ("[a-z0-9]{2}", 36**2),
        ("[A-Z]{1,2}[A-Z]{1,2}", 26**2 + 26**3 + 26**4),
        ("X[0-9]", 10),
        (".", 94 - 26),
        ("[^0-9]", 84 - 26),
        ("\\w{2}", 37**2),
    ],
)
def test_sizes(pattern, size):
    assert compile_pattern(pattern).size == size


def test_numbers_and_codes_are_a_bijection():
    compiled = compile_pattern("(x|y)[0-2]{1,2}")
    codes = _all_codes("(x|y)[0-2]{1,2}")

    assert [compiled.index_of(code) for code in codes] == list(range(compiled.size))
    assert compiled.index_of("x1") == compiled.index_of("X1")
    assert compiled.index_of("X3") is None
    assert compiled.index_of("X") is None
    assert compiled.index_of("X000") is None
    with pytest.raises(IndexError):
        compiled.folded_at(compiled.size)


@pytest.mark.parametrize(
    "pattern",
    [
        "[a-z]{3}-[A-Z]{2}",
        "Coupon_[a-zA-Z0-9]{5}",
        "(?P<kind>vip|VIP)-[a-f0-9]{4}",
        "a[A-Z]|A[a-z]",
        "^promo-\\d{3}$",
        "[]a]x",
        "[a-]{2}",
        "\\x41\\.\\-[\\d_]",
        "[^a-zA-Z0-9]{2}",
        "\\W\\D\\S",
        "x{2,3}?y",
        "a|b$",
    ],
)
def test_generated_codes_match_the_pattern_case_sensitively(pattern):
    compiled = compile_pattern(pattern)

    for _ in range(200):
        code = compiled.random_code()
        assert re.fullmatch(pattern, code), code
        assert compiled.matches(code)


def test_the_anchors_first_and_last_are_ignored():
    anchored = compile_pattern("^promo-\\d{3}$")

    assert anchored.size == compile_pattern("promo-\\d{3}").size == 1000
    assert anchored.prefix == "PROMO-"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "the pattern is empty"),
        ("A*", "the unbounded quantifier '*' is not supported"),
        ("A+", "the unbounded quantifier '+' is not supported"),
        ("A{2,}", "the unbounded quantifier '{n,}' is not supported"),
        ("A B", "a space cannot be part of a code"),
        ("A\\sB", "'\\s' stands for whitespace"),
        ("caf\u00e9", "'\u00e9' cannot be part of a code"),
        ("(AB", "missing ')', unterminated subpattern (at position 0)"),
        ("AB)", "unbalanced parenthesis: ')' without '(' (at position 2)"),
        ("[AB", "missing ']', unterminated character set (at position 0)"),
        ("(A)\\1", "back-references and octal escapes are not supported"),
        ("(?=A)B", "only (...), (?:...) and (?P<name>...) groups are supported"),
        ("(?i)ab", "only (...), (?:...) and (?P<name>...) groups are supported"),
        ("A?", "the pattern can produce an empty code"),
        ("(A|)", "the pattern can produce an empty code"),
        ("A{", "a literal '{' must be escaped as '\\{'"),
        ("[Z-A]", "bad character range Z-A (at position 1)"),
        ("[\\d-Z]", "bad character range (at position 1)"),
        ("\\bA", "'\\b' (an anchor or word boundary) is not supported"),
        ("A^B", "'^' is only allowed as the first character"),
        ("A$B", "'$' is only allowed as the last character"),
        ("A{2}{3}", "multiple repeat"),
        ("A?+", "possessive quantifiers are not supported"),
        ("*A", "nothing to repeat (at position 0)"),
        ("\\q", "unknown escape '\\q'"),
        ("A{3,2}", "min repeat greater than max repeat"),
        ("A{101}", "a repeat count cannot exceed 100"),
        ("[^\\x21-\\x7e]", "the class matches no character a code can hold"),
        ("A\\", "the pattern ends with a lone backslash"),
        ("X{60}Y{41}", f"a code has at most {MAX_CODE_LENGTH}"),
        ("[AB]{0,20}A[AB]{20}", "the pattern is too complex to analyse"),
    ],
)
def test_invalid_or_unsupported_patterns_are_refused_with_the_reason(pattern, message):
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern)

    assert message in caught.value.message


def test_big_code_spaces_are_exact_integers():
    compiled = compile_pattern("[A-Z0-9]{100}")

    assert compiled.size == 36**100
    code = compiled.random_code()
    assert len(code) == 100
    assert compiled.index_of(code) < compiled.size
