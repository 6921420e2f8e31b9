"""``DomainError.renamed``: a service's field errors in a dialect's names."""

from __future__ import annotations

from core.errors import DomainError, FieldIssue

NAMES = {"discount_value": "discountValue", "valid_till": "validTillDate"}


def test_the_paths_and_the_messages_mentions_are_renamed():
    error = DomainError(
        "invalid_series",
        "discount_value: Too big; max_discount_value: kept; discount_value.x: nested",
        fields=[
            FieldIssue("discount_value", "invalid", "Too big"),
            FieldIssue("discount_value.x", "invalid", "nested"),
            FieldIssue("other", "invalid", "kept"),
        ],
        details={"a": 1},
    )

    renamed = error.renamed(NAMES)

    assert (renamed.reason, renamed.message, renamed.details) == (
        "invalid_series",
        "discountValue: Too big; max_discount_value: kept; discountValue.x: nested",
        {"a": 1},
    )
    assert [issue.path for issue in renamed.fields] == [
        "discountValue",
        "discountValue.x",
        "other",
    ]


def test_a_message_that_does_not_name_its_field_is_kept():
    error = DomainError(
        "invalid_series",
        "3 already issued: the cap cannot be lower.",
        fields=[FieldIssue("valid_till", "min_value", "3 already issued")],
    )

    renamed = error.renamed(NAMES)

    assert renamed.message == "3 already issued: the cap cannot be lower."
    assert renamed.fields == [
        FieldIssue("validTillDate", "min_value", "3 already issued")
    ]
