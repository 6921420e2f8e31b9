"""import_customers: upsert by identifiers, a report of bad rows, idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer
from tests.factories import CustomerFactory, StoreFactory

pytestmark = pytest.mark.django_db

GOOD = """first_name,last_name,email,mobile,external_id
Tom,Sawyer,tom@example.com,9988776655,CRM-1
Becky,Thatcher,becky@example.com,,CRM-2
Huck,,HUCK@example.com,9988776657,
"""


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_customers", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def store():
    return StoreFactory(code="shop")


def write(tmp_path, text, name="customers.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_creates_then_rerun_changes_nothing(store, tmp_path):
    path = write(tmp_path, GOOD)
    output = run("--store", "shop", str(path))
    assert "created 3, updated 0, unchanged 0, rejected 0" in output
    tom = Customer.objects.get(store=store, external_id="CRM-1")
    assert (tom.first_name, tom.email, tom.mobile) == (
        "Tom",
        "tom@example.com",
        "9988776655",
    )
    before = {c.pk: (c.updated_at, c.email) for c in Customer.objects.all()}
    output = run("--store", str(store.id), str(path))
    assert "created 0, updated 0, unchanged 3, rejected 0" in output
    assert {c.pk: (c.updated_at, c.email) for c in Customer.objects.all()} == before


def test_import_upserts_by_each_identifier(store, tmp_path):
    by_email = CustomerFactory(store=store, email="Tom@Example.com", external_id=None)
    by_mobile = CustomerFactory(store=store, mobile="9988776657", email=None)
    path = write(tmp_path, GOOD)
    output = run("--store", "shop", str(path))
    assert "created 1, updated 2, unchanged 0, rejected 0" in output
    by_email.refresh_from_db()
    by_mobile.refresh_from_db()
    assert (by_email.first_name, by_email.external_id) == ("Tom", "CRM-1")
    assert by_mobile.email == "HUCK@example.com"
    assert Customer.objects.filter(store=store).count() == 3


def test_bad_rows_are_reported_with_line_numbers_and_good_rows_written(store, tmp_path):
    CustomerFactory(store=store, email="a@example.com", external_id="A")
    CustomerFactory(store=store, email="b@example.com", external_id="B")
    text = (
        "first_name,email,mobile,external_id\n"
        "Ok,ok@example.com,,\n"  # line 2
        "Bad,not-an-email,,\n"  # line 3
        "NoId,,,\n"  # line 4
        "Phone,,abc,\n"  # line 5
        "Mixed,a@example.com,,B\n"  # line 6: two customers
        "Extra,x@example.com,,,surplus\n"  # line 7
        "Fine,,,EXT-9\n"  # line 8
    )
    path = write(tmp_path, text)
    output = run("--store", "shop", str(path))
    assert "created 2, updated 0, unchanged 0, rejected 5" in output
    report = (tmp_path / "customers.csv.rejected.csv").read_text().splitlines()
    assert report == [
        "line,reason",
        "3,invalid email 'not-an-email'",
        '4,"no identifier (email, mobile or external_id)"',
        "5,invalid mobile 'abc'",
        '6,"identifiers (external_id, email) belong to different customers"',
        "7,too many cells",
    ]
    assert set(
        Customer.objects.filter(store=store).values_list("first_name", flat=True)
    ) >= {"Ok", "Fine"}


def test_rows_in_one_file_that_share_an_identifier_merge(store, tmp_path):
    text = "email,first_name,mobile\nsam@example.com,Sam,\nSAM@example.com,,12345678\n"
    output = run("--store", "shop", str(write(tmp_path, text)))
    assert "created 1, updated 1" in output
    sam = Customer.objects.get(store=store)
    assert (sam.first_name, sam.mobile) == ("Sam", "12345678")


def test_dry_run_writes_nothing(store, tmp_path):
    output = run("--store", "shop", "--dry-run", str(write(tmp_path, GOOD)))
    assert "[dry run] would have: created 3" in output
    assert not Customer.objects.exists()


def test_small_batches_give_the_same_result(store, tmp_path):
    run("--store", "shop", "--batch", "1", str(write(tmp_path, GOOD)))
    assert Customer.objects.filter(store=store).count() == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("name,email\nx,y@example.com\n", r"Unknown column\(s\): name"),
        ("first_name,last_name\nA,B\n", "at least one identifier column"),
    ],
)
def test_bad_files_fail_clearly(store, tmp_path, text, message):
    with pytest.raises(CommandError, match=message):
        run("--store", "shop", str(write(tmp_path, text)))
    assert not Customer.objects.exists()


def test_missing_file_and_unknown_store(store, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run("--store", "shop", str(tmp_path / "nope.csv"))
    with pytest.raises(CommandError, match="not found"):
        run("--store", "nope", str(write(tmp_path, GOOD)))


def test_progress_lines_when_not_a_terminal(store, tmp_path):
    output = run("--store", "shop", str(write(tmp_path, GOOD)))
    assert "import_customers: 3/3 (100%)" in output


def test_other_stores_customers_are_not_touched(store, tmp_path):
    other = StoreFactory()
    theirs = CustomerFactory(store=other, email="tom@example.com", first_name="Other")
    run("--store", "shop", str(write(tmp_path, GOOD)))
    theirs.refresh_from_db()
    assert theirs.first_name == "Other"
    assert Customer.objects.filter(store=store).count() == 3
