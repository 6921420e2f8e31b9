"""import_customers refuses malformed files instead of guessing (attack report 2, #7).

A repeated column, a quoted cell left open (a truncated upload), a misplaced quote and
an empty column name are refused before anything is imported, with a message naming
the column or the line; the progress counts records, so it ends at 100 %.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from customers.importer import COLUMNS
from customers.models import Customer
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

EXPECTED = ", ".join(COLUMNS)


def run(path) -> str:
    out = StringIO()
    call_command("import_customers", "--store=shop", str(path), stdout=out)
    return out.getvalue()


@pytest.fixture
def store():
    return StoreFactory(code="shop")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "first_name,email,email\nA,a1@x.com,a2@x.com\n",
            "Duplicate column(s): email. Give each column once.",
        ),
        (
            "email,mobile,Email ,mobile\na@x.com,123,b@x.com,456\n",
            "Unknown column(s): Email. Expected: " + EXPECTED + ".",
        ),
        (
            " mobile,email,mobile\n123,a@x.com,456\n",
            "Duplicate column(s): mobile. Give each column once.",
        ),
        (
            "email,\nx@x.com,\n",
            "The header has an empty column name (column 2): remove the extra comma "
            "or name the column. Expected: " + EXPECTED + ".",
        ),
        (
            ",email, ,mobile\n",
            "The header has an empty column name (column 1, 3): remove the extra "
            "comma or name the column. Expected: " + EXPECTED + ".",
        ),
        (
            'email\nok@x.com\n"t3@x.com',
            "Line 3: unexpected end of data (is a quoted cell left open, or a quote "
            "misplaced?). Nothing was imported.",
        ),
        (
            'email,first_name\nok@x.com,"Ann\n\nok2@x.com,Bob\n',
            "Line 4: unexpected end of data (is a quoted cell left open, or a quote "
            "misplaced?). Nothing was imported.",
        ),
        (
            'email,first_name\nok@x.com,"Ann"ie\n',
            "Line 2: ',' expected after '\"' (is a quoted cell left open, or a quote "
            "misplaced?). Nothing was imported.",
        ),
        (
            '"email\nok@x.com\n',
            "Line 2: unexpected end of data (is a quoted cell left open, or a quote "
            "misplaced?). Nothing was imported.",
        ),
    ],
)
def test_a_malformed_file_is_refused_and_nothing_imported(
    store, tmp_path, text, message
):
    path = tmp_path / "customers.csv"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(CommandError) as refused:
        run(path)

    assert str(refused.value) == message
    assert not Customer.objects.exists()


def test_the_progress_counts_records_and_reaches_the_end(store, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        'email,first_name\na@x.com,"one\nquoted\ncell"\n\nb@x.com,B\nc@x.com,C\n'
        "d@x.com,D\ne@x.com,E\n",
        encoding="utf-8",
    )

    output = run(path)

    assert "import_customers: 5/5 (100%)" in output
    assert "created 5, updated 0, unchanged 0, rejected 0" in output
    assert Customer.objects.get(email="a@x.com").first_name == "one\nquoted\ncell"


def test_quotes_used_properly_still_import(store, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        'email,first_name,last_name\n"q@x.com","Ann ""Nan""","O\'Neil, Jr"\n',
        encoding="utf-8",
    )

    assert "created 1" in run(path)
    customer = Customer.objects.get()
    assert (customer.first_name, customer.last_name) == ('Ann "Nan"', "O'Neil, Jr")
