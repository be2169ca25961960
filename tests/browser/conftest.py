"""Playwright on Debian's Chromium, against pytest-django's live server.

Screenshots go to the test's tmp dir, and also to $HAFEN_SCREENSHOT_DIR when set.
"""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.services import need_browser

# expect()'s own default is 5 s; the machine is shared (see new_page).
expect.set_options(timeout=10_000)

# Playwright's sync API runs an event loop in this thread; the ORM calls the
# tests make between browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def chromium():
    """One Chromium per test module, not per session.

    While Playwright's sync API is open it keeps an event loop running in this
    thread; the Channels tests (async_to_sync) that pytest-django runs after the
    browser tests must not find it still there.
    """
    executable = need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test reports where each of its pages was and what it showed."""
    outcome = yield
    report = outcome.get_result()
    pages = getattr(item, "_browser_pages", [])
    if report.when == "call" and report.failed and pages:
        lines = []
        for page in pages:
            try:
                text = page.inner_text("body", timeout=2_000)[:600]
            except Exception as exc:  # noqa: BLE001 - a diagnostic must not mask the failure
                text = f"(no text: {exc.__class__.__name__})"
            lines.append(f"{page.url}\n{text}\n")
        report.sections.append(("pages at failure", "\n".join(lines)))


@pytest.fixture
def new_page(chromium, request):
    contexts = []
    request.node._browser_pages = []

    def _new_page(**context_options):
        context = chromium.new_context(
            **{"viewport": {"width": 1280, "height": 800}, "locale": "en-US", **context_options}
        )
        # Two xdist workers share two cores with Chromium and the servers:
        # generous waits; the tests that measure latency pass their own.
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        request.node._browser_pages.append(page)
        return page

    yield _new_page
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(tmp_path, request):
    def _shot(page, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        out = os.environ.get("HAFEN_SCREENSHOT_DIR")
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(out) / f"{request.node.name}-{name}.png")
        return path

    return _shot
