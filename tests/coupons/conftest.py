"""Fixtures of the native API's redemption tests (validate, redeem, holds)."""

from __future__ import annotations

import pytest

from tests.factories import CustomerFactory


@pytest.fixture
def customer(store):
    return CustomerFactory(store=store)
