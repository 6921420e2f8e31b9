"""Browser tests: Playwright for Python driving Debian's Chromium (headless) against
pytest-django's live server. Screenshots of each step go to ``screenshots/``
(git-ignored) for a person to look at.

They are skipped, with the reason, only when Chromium or Playwright is missing; CI
(.ci/run) installs Chromium with apt-get first. Never ``playwright install``: the
browser is the system's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), *CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        return "Chromium not found (apt-get install -y chromium, or set CHROMIUM_PATH)"
    return None


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "browser: drives Chromium through Playwright (needs /usr/bin/chromium)",
    )


def pytest_collection_modifyitems(config, items):
    reason = _missing()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def chromium(django_db_setup):
    """One Chromium per test module, started after the test database exists.

    Playwright's sync API keeps an event loop running in this thread while it is
    open; Django would then refuse the tests' own (synchronous, safe) ORM calls, so
    they are allowed for exactly that time, and the loop is gone before other
    modules run.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shoot(request):
    """``shoot(page, "step")`` saves screenshots/<test name>/<nn>-<step>.png."""
    folder = SCREENSHOTS / request.node.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    counter = iter(range(1, 100))

    def take(page, step: str) -> Path:
        path = folder / f"{next(counter):02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
