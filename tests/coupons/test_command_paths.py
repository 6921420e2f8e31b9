"""Paths the operators' commands read and write (attack report 2, #12).

A folder given as a file, a missing folder or file, and a file the system refuses to
read or write are each a CommandError naming the option and the path, never a
traceback; a report that cannot be written is refused before anything is imported or
issued.
"""

from __future__ import annotations

import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from assignments.models import Assignment
from customers.models import Customer
from series import services
from tests.factories import CouponFactory, CustomerFactory, StoreFactory

pytestmark = pytest.mark.django_db

# Refused to root too: sysfs takes no new files (EACCES), and reading the process's
# own memory from its start is an I/O error (the first page is not mapped).
UNWRITABLE = Path("/sys/couponhub-hfx6.csv")
UNREADABLE = Path("/proc/self/mem")
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="needs /sys and /proc"
)


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def store():
    store = StoreFactory(code="shop", currency="EUR")
    CouponFactory(store=store, code="ONE")
    return store


EXPORTS = [
    ("export_coupons", "--store=shop"),
    ("bulk_coupons", "--store=shop", "--action=export"),
]


@pytest.mark.parametrize("command", EXPORTS)
def test_an_export_to_a_folder_is_refused(store, tmp_path, command):
    with pytest.raises(CommandError) as refused:
        run(*command, f"--output={tmp_path}")

    assert str(refused.value) == f"--output {tmp_path}: is a folder; give a file name."
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", EXPORTS)
def test_an_export_to_a_missing_folder_is_refused(store, tmp_path, command):
    with pytest.raises(CommandError) as refused:
        run(*command, f"--output={tmp_path / 'nope' / 'out.csv'}")

    assert str(refused.value) == f"No such folder: {tmp_path / 'nope'}"


@linux_only
@pytest.mark.parametrize("command", EXPORTS)
def test_an_export_the_system_refuses_is_a_command_error(store, command):
    with pytest.raises(CommandError) as refused:
        run(*command, f"--output={UNWRITABLE}")

    assert str(refused.value) == (
        f"--output {UNWRITABLE}: cannot be written (Permission denied)."
    )


@pytest.mark.parametrize("command", EXPORTS)
def test_an_export_to_a_file_still_works(store, tmp_path, command):
    out = tmp_path / "out.csv"

    run(*command, f"--output={out}")

    assert "ONE" in out.read_text()


CSV = "email\nnew@example.com\nnot-an-email\n"


def test_import_customers_refuses_a_folder_as_its_file(store, tmp_path):
    with pytest.raises(CommandError) as refused:
        run("import_customers", "--store=shop", str(tmp_path))

    assert str(refused.value) == f"No such file: {tmp_path}"


@linux_only
def test_import_customers_refuses_a_file_it_cannot_read(store, tmp_path):
    with pytest.raises(CommandError) as refused:
        run(
            "import_customers",
            "--store=shop",
            str(UNREADABLE),
            f"--report={tmp_path / 'r.csv'}",
        )

    assert str(refused.value) == (f"{UNREADABLE}: cannot be read (Input/output error).")


@pytest.mark.parametrize("where", ["folder", "missing folder"])
def test_import_customers_checks_its_report_before_importing(store, tmp_path, where):
    path = tmp_path / "list.csv"
    path.write_text(CSV)
    report = tmp_path if where == "folder" else tmp_path / "nope" / "r.csv"

    with pytest.raises(CommandError) as refused:
        run("import_customers", "--store=shop", str(path), f"--report={report}")

    assert str(refused.value) == (
        f"--report {tmp_path}: is a folder; give a file name."
        if where == "folder"
        else f"No such folder: {tmp_path / 'nope'}"
    )
    assert not Customer.objects.exists()


@linux_only
def test_import_customers_report_the_system_refuses(store, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(CSV)

    with pytest.raises(CommandError) as refused:
        run("import_customers", "--store=shop", str(path), f"--report={UNWRITABLE}")

    assert str(refused.value) == (
        f"--report {UNWRITABLE}: cannot be written (Permission denied)."
    )
    # The good row was imported before the report was written.
    assert list(Customer.objects.values_list("email", flat=True)) == ["new@example.com"]


@pytest.fixture
def series(store):
    return services.series_create(
        store=store,
        description="Welcome",
        discount_type="ABS",
        discount_value=5,
        max_create=100,
        random_code_length=8,
    )


def test_issue_to_customers_refuses_a_folder_as_its_file(series, tmp_path):
    with pytest.raises(CommandError) as refused:
        run("issue_to_customers", "--series", str(series.id), str(tmp_path))

    assert str(refused.value) == f"No such file: {tmp_path}"


@linux_only
def test_issue_to_customers_refuses_a_file_it_cannot_read(series, tmp_path):
    with pytest.raises(CommandError) as refused:
        run(
            "issue_to_customers",
            "--series",
            str(series.id),
            str(UNREADABLE),
            f"--report={tmp_path / 'r.csv'}",
        )

    assert str(refused.value) == (f"{UNREADABLE}: cannot be read (Input/output error).")


def test_issue_to_customers_checks_its_report_before_issuing(store, series, tmp_path):
    CustomerFactory(store=store, email="known@example.com")
    path = tmp_path / "list.csv"
    path.write_text("email\nknown@example.com\nunknown@example.com\n")

    with pytest.raises(CommandError) as refused:
        run(
            "issue_to_customers",
            "--series",
            str(series.id),
            str(path),
            f"--report={tmp_path}",
        )

    assert str(refused.value) == f"--report {tmp_path}: is a folder; give a file name."
    assert not Assignment.objects.exists()
