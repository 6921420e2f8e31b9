"""The admin login is throttled per client address (django-axes, issue 16 item 7):
past ``AXES_FAILURE_LIMIT`` failures the address is refused (429) even with the right
password, other addresses log in, and the count lives in the database, so it holds
with the cache down. Before: any number of guesses, each answered.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client

from core import cache as shared_cache
from tests.stores.cache_servers import closed_port, production_caches

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser(
        "boss", "boss@example.com", "right-password-1"
    )


def _login(address: str, password: str, username: str = "boss"):
    return Client(REMOTE_ADDR=address).post(
        LOGIN, {"username": username, "password": password}
    )


def _locks_out_after_the_limit(settings) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    attacker, colleague = "203.0.113.9", "203.0.113.10"
    failures = [_login(attacker, f"guess-{i}") for i in range(2)]
    assert [r.status_code for r in failures] == [200, 200]  # the form, with its error
    assert b"Please enter the correct username and password" in failures[0].content
    third = _login(attacker, "guess-3")
    assert third.status_code == 429
    # Past the limit the right password does not help: refused before it is checked.
    right = _login(attacker, "right-password-1")
    assert right.status_code == 429
    assert b"too many login attempts" in right.content.lower()
    assert "_auth_user_id" not in right.wsgi_request.session
    # Another username from the same address: the address is what is locked.
    assert _login(attacker, "x", username="someone-else").status_code == 429
    # A colleague elsewhere logs in.
    ok = _login(colleague, "right-password-1")
    assert ok.status_code == 302
    assert ok["Location"] == "/admin/"
    # Kept in the database (one row per username tried from the address).
    attempts = AccessAttempt.objects.filter(ip_address=attacker)
    assert sum(a.failures_since_start for a in attempts) >= 3
    assert not AccessAttempt.objects.filter(ip_address=colleague).exists()


def test_the_admin_login_locks_an_address_out_after_its_failures(staff, settings):
    _locks_out_after_the_limit(settings)


def test_the_lockout_holds_with_the_cache_down(staff, settings, monkeypatch):
    shared_cache.reset()
    with closed_port() as url:
        settings.CACHES = production_caches(monkeypatch, url)
        _locks_out_after_the_limit(settings)
    shared_cache.reset()


def test_a_few_typos_then_the_right_password_log_in(staff, settings):
    settings.AXES_FAILURE_LIMIT = 3
    assert _login("203.0.113.9", "typo").status_code == 200
    ok = _login("203.0.113.9", "right-password-1")
    assert ok.status_code == 302


def test_a_test_clients_login_without_a_request_still_works(staff):
    # Client.login() authenticates without a request (no address to count).
    browser = Client()
    assert browser.login(username="boss", password="right-password-1")
    assert browser.get("/admin/").status_code == 200
