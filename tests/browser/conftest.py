"""Playwright on Debian's Chromium, against pytest-django's live server.

Screenshots go to the test's tmp dir, and also to $HAFEN_SCREENSHOT_DIR when set.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.services import need_browser

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


@pytest.fixture
def new_page(chromium):
    contexts = []

    def _new_page(**context_options):
        context = chromium.new_context(
            **{"viewport": {"width": 1280, "height": 800}, "locale": "en-US", **context_options}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

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
