"""issue_to_customers: one code per listed customer, resumable, caps respected."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from assignments.models import Assignment
from coupons.models import Coupon
from series import bulk_issue, services
from series.models import Series
from tests.factories import CustomerFactory, StoreFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("issue_to_customers", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def store():
    return StoreFactory(currency="EUR")


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


@pytest.fixture
def people(store):
    return [
        CustomerFactory(store=store, mobile=f"91000000{i:02d}", email=f"p{i}@e.com")
        for i in range(6)
    ]


def write(tmp_path, people, extra=""):
    lines = ["mobile,email"]
    lines += [f"{p.mobile}," for p in people[:3]]
    lines += [f",{p.email.upper()}" for p in people[3:]]
    path = tmp_path / "list.csv"
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def issued(series):
    return Assignment.objects.filter(series=series).count()


def test_issues_one_code_per_customer_and_rerun_issues_nothing(
    series, people, tmp_path
):
    path = write(tmp_path, people)
    output = run("--series", str(series.id), str(path))
    assert "issued 6, already issued 0, rejected 0" in output
    holders = set(
        Assignment.objects.filter(series=series).values_list("customer_id", flat=True)
    )
    assert holders == {p.id for p in people}
    codes = Coupon.objects.filter(series=series, pooled=False).values_list("code")
    assert len(set(codes)) == 6
    output = run("--series", str(series.id), str(path))
    assert "issued 0, already issued 6, rejected 0" in output
    assert issued(series) == 6


def test_resumes_after_an_interruption_without_issuing_twice(series, people, tmp_path):
    path = write(tmp_path, people)
    first = run("--series", str(series.id), "--limit", "2", str(path))
    assert "issued 2, already issued 0" in first
    assert issued(series) == 2
    second = run("--series", str(series.id), str(path))
    assert "issued 4, already issued 2, rejected 0" in second
    assert issued(series) == 6
    assert (
        Assignment.objects.filter(series=series).values("customer").distinct().count()
        == 6
    )


def test_bad_rows_are_reported_and_caps_hold(store, people, tmp_path):
    capped = services.series_create(
        store=store,
        description="Only 4",
        discount_type="ABS",
        discount_value=5,
        max_create=4,
        random_code_length=8,
    )
    path = write(tmp_path, people, extra=",nobody@e.com\n,\n")
    output = run("--series", str(capped.id), str(path))
    assert "issued 4, already issued 0, rejected 4" in output
    report = (tmp_path / "list.csv.rejected.csv").read_text().splitlines()
    assert report[0] == "line,reason"
    reasons = {line.split(",", 1)[0]: line.split(",", 1)[1] for line in report[1:]}
    assert reasons["8"] == "customer not found"
    assert reasons["9"] == "no identifier"
    assert reasons["6"].startswith("out_of_stock")
    capped.refresh_from_db()
    assert capped.issued_count == 4


def test_dry_run_issues_nothing(series, people, tmp_path):
    output = run("--series", str(series.id), "--dry-run", str(write(tmp_path, people)))
    assert "[dry run] would issue 6, already issued 0, rejected 0" in output
    assert issued(series) == 0


def test_bad_input(series, tmp_path, people):
    with pytest.raises(CommandError, match="not found"):
        run("--series", "9" * 19, str(write(tmp_path, people)))
    with pytest.raises(CommandError, match="No such file"):
        run("--series", str(series.id), str(tmp_path / "missing.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("phone\n123\n")
    with pytest.raises(CommandError, match=r"Unknown column\(s\): phone"):
        run("--series", str(series.id), str(bad))


# --- the series as a Capillary operator names it; refusals of the series (attack
# report 2, #14) ---------------------------------------------------------------------


@pytest.fixture
def path(store, tmp_path):
    emails = [CustomerFactory(store=store).email for _ in range(4)]
    path = tmp_path / "list.csv"
    path.write_text("email\n" + "\n".join(emails) + "\n")
    return path


def test_the_compact_id_names_the_series(series, path):
    assert series.compact_id != series.id

    output = run("--series", str(series.compact_id), str(path))

    assert "issued 4, already issued 0, rejected 0" in output
    assert Assignment.objects.filter(series=series).count() == 4
    # The flake id still names it: the same file again issues nothing more.
    assert "issued 0, already issued 4, rejected 0" in run(
        "--series", str(series.id), str(path)
    )


@pytest.mark.parametrize("value", ["0", "-3", "x", "9" * 19, "3.0"])
def test_no_series_is_not_found(series, path, value):
    with pytest.raises(CommandError) as refused:
        run("--series", value, str(path))

    assert str(refused.value) == f"Series {value!r} not found."


def test_a_disabled_series_is_refused_before_anything(series, path):
    Series.objects.filter(pk=series.pk).update(is_active=False)

    with pytest.raises(CommandError) as refused:
        run("--series", str(series.compact_id), str(path))

    assert str(refused.value) == (
        f"Series '{series.compact_id}' is disabled: nothing was issued. Enable it "
        "first."
    )
    assert not Assignment.objects.exists()


def test_a_series_disabled_during_the_run_says_what_stays_issued(
    series, path, monkeypatch
):
    real = bulk_issue._issue_batch
    batches = []

    def then_disable(*args, **kwargs):
        if batches:
            Series.objects.filter(pk=series.pk).update(is_active=False)
        batches.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk_issue, "_issue_batch", then_disable)

    with pytest.raises(CommandError) as refused:
        run("--series", str(series.id), "--batch", "3", str(path))

    assert str(refused.value) == (
        "series_not_found: Coupon series not found. (the batches before it (3 rows) "
        "stay issued; a rerun goes on from there)"
    )
    assert Assignment.objects.filter(series=series).count() == 3


def test_the_id_column_takes_the_compact_id_and_the_flake_id(store, series, tmp_path):
    by_compact, by_flake, both = (CustomerFactory(store=store) for _ in range(3))
    foreign = CustomerFactory(store=StoreFactory())
    path = tmp_path / "ids.csv"
    path.write_text(
        "id,email\n"
        f"{by_compact.compact_id},\n"
        f"{by_flake.id},\n"
        f"{both.compact_id},{both.email}\n"
        f"{both.compact_id},{by_flake.email}\n"
        f"{foreign.compact_id},\n"
    )

    output = run("--series", str(series.compact_id), str(path))

    assert "issued 3, already issued 0, rejected 2" in output
    holders = set(
        Assignment.objects.filter(series=series).values_list("customer_id", flat=True)
    )
    assert holders == {by_compact.id, by_flake.id, both.id}
    report = (tmp_path / "ids.csv.rejected.csv").read_text().splitlines()
    assert report == ["line,reason", "5,customer not found", "6,customer not found"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "id,email,id\n1,a@x.com,2\n",
            "Duplicate column(s): id. Give each column once.",
        ),
        (
            "email,\na@x.com,\n",
            "The header has an empty column name (column 2): remove the extra comma "
            "or name the column. Use customer identifiers: mobile, email, "
            "external_id, id.",
        ),
        (
            'email\na@x.com\n"b@x.com',
            "Line 3: unexpected end of data (is a quoted cell left open, or a quote "
            "misplaced?). Nothing was issued.",
        ),
    ],
)
def test_a_malformed_file_is_refused_before_anything_is_issued(
    series, tmp_path, text, message
):
    # As import_customers reads its file (tests/customers/test_import_malformed.py).
    path = tmp_path / "list.csv"
    path.write_text(text)

    with pytest.raises(CommandError) as refused:
        run("--series", str(series.id), str(path))

    assert str(refused.value) == message
    assert not Assignment.objects.exists()


def test_the_progress_counts_records(store, series, tmp_path):
    emails = [CustomerFactory(store=store).email for _ in range(3)]
    path = tmp_path / "list.csv"
    path.write_text(f'email,mobile\n{emails[0]},\n\n"{emails[1]}",""\n{emails[2]},\n')

    output = run("--series", str(series.id), str(path))

    assert "issue_to_customers: 3/3 (100%)" in output
    assert "issued 3, already issued 0, rejected 0" in output
