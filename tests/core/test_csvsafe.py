"""CSV exports a spreadsheet opens as data: a cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return gets a leading ``'`` (OWASP "CSV Injection"),
through the real export paths: the ``export_coupons`` command and the series' code
download in the admin."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from core import csvsafe
from tests.factories import CouponFactory, SeriesFactory, StoreFactory

pytestmark = pytest.mark.django_db

# Codes a NewStore pattern or an uploaded list can make, and how each is written.
HOSTILE = {
    "=1+1": "'=1+1",
    "+1-1": "'+1-1",
    "-2+3": "'-2+3",
    "@SUM(A1)": "'@SUM(A1)",
    '=HYPERLINK("http://x.example","X")': '\'=HYPERLINK("http://x.example","X")',
    "\t=1": "'\t=1",
    "\r=1": "'\r=1",
    "A=1+1": "A=1+1",  # only the first character matters
    "SAFE-1": "SAFE-1",
}


@pytest.mark.parametrize(
    ("value", "written"),
    [
        *HOSTILE.items(),
        ("", ""),
        ("'=1", "'=1"),
        (-1, -1),  # a number cannot carry a formula
        (None, None),
        (True, True),
    ],
)
def test_cell(value, written):
    assert csvsafe.cell(value) == written


def test_writer_quotes_what_it_neutralises():
    out = StringIO()
    csvsafe.writer(out).writerow(['=1+1";=2', "x,y", 5])
    assert out.getvalue() == '"\'=1+1"";=2","x,y",5\r\n'


def _hostile_coupons(store, series=None):
    for code in HOSTILE:
        CouponFactory(store=store, series=series, code=code)


def test_export_coupons_command_writes_formula_codes_as_text(tmp_path):
    store = StoreFactory(code="shop")
    _hostile_coupons(store)
    target = tmp_path / "coupons.csv"
    call_command(
        "export_coupons", "--store", "shop", "--output", str(target), stdout=StringIO()
    )
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["code"] for row in rows] == list(HOSTILE.values())
    raw = target.read_text(encoding="utf-8")
    assert ",'=1+1," in raw
    assert ",=1+1," not in raw


def test_export_coupons_command_to_stdout_writes_formula_codes_as_text():
    store = StoreFactory(code="shop")
    _hostile_coupons(store)
    out = StringIO()
    call_command("export_coupons", "--store", "shop", stdout=out, stderr=StringIO())
    rows = list(csv.DictReader(StringIO(out.getvalue(), newline="")))
    assert [row["code"] for row in rows] == list(HOSTILE.values())


def test_export_coupons_jsonl_keeps_the_codes_exact():
    store = StoreFactory(code="shop")
    _hostile_coupons(store)
    out = StringIO()
    call_command(
        "export_coupons",
        "--store",
        "shop",
        "--format",
        "jsonl",
        stdout=out,
        stderr=StringIO(),
    )
    codes = [json.loads(line)["code"] for line in out.getvalue().splitlines()]
    assert codes == list(HOSTILE)


def test_series_codes_download_writes_formula_codes_as_text(admin_client):
    series = SeriesFactory()
    _hostile_coupons(series.store, series)
    response = admin_client.post(
        reverse("admin:series_series_changelist"),
        {"action": "export_codes_csv", "_selected_action": [str(series.pk)]},
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert rows[0][:2] == ["series_id", "code"]
    assert [row[1] for row in rows[1:]] == list(HOSTILE.values())
    assert all(row[0] == str(series.pk) for row in rows[1:])
