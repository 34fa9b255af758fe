"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser), against the live server.

Skipped, with the reason, when /usr/bin/chromium is absent (CI installs it, and with CI_STRICT=1 a skip fails
the run). axe-core (from npm, installed by `make`) checks every page the tests visit."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]

# Playwright's sync API runs an event loop in the test's thread; the test's own database calls are not async.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.hookimpl(tryfirst=True)  # before tests/conftest.py's, which leaves ``once`` tests out of the PostgreSQL pass
def pytest_collection_modifyitems(items):
    """Every browser test is marked ``browser``, and ``once``: the browser sees pages, which are the same whichever
    database serves them, and what each database does under a page is proven by the page and service tests that
    run in both passes. In the PostgreSQL pass they took a minute and a half of the workers' time."""
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.once)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


WIDTHS = (1280, 375)  # a desktop, and a small phone (iPhone SE / 13 mini)


def assert_accessible(page) -> None:
    """axe-core finds nothing at all on the current page, at each of ``WIDTHS``: no violation of any impact,
    moderate and minor ones included (issue 18: `region` had been let through on every page). At each width the
    page must also not scroll sideways: a table too wide for a phone hides its last column ("View record")."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make` (npm ci) first")
    # Evaluated through the DevTools protocol, which the page's Content-Security-Policy (rightly) does not let a
    # <script> tag do.
    size = page.viewport_size or {"width": 1280, "height": 720}
    try:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": size["height"]})
            if not page.evaluate("() => typeof axe !== 'undefined'"):
                page.evaluate(AXE.read_text() + "\n;undefined")
            result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
            found = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                      "nodes": [n["target"] for n in v["nodes"]][:3]} for v in result["violations"]]
            assert found == [], f"at {width}px: " + json.dumps(found, indent=2)
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"at {width}px the page scrolls sideways by {overflow}px"
    finally:
        page.set_viewport_size(size)


def sign_in(page, person) -> None:
    """Sign in through the page with password, PIN and a fresh security code, and land on the home page."""
    page.goto("/sign-in")
    page.get_by_label("Username").fill(person.user.username)
    page.get_by_label("Password", exact=True).fill(person.password)
    page.get_by_label("PIN", exact=True).fill(person.pin)
    page.get_by_label("Security code").fill(person.code())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/home")


def fill_date(page, prefix: str, day) -> None:
    """A GOV.UK date input: its day, month and year boxes."""
    page.locator(f"input[name='{prefix}-day']").fill(str(day.day))
    page.locator(f"input[name='{prefix}-month']").fill(str(day.month))
    page.locator(f"input[name='{prefix}-year']").fill(str(day.year))
