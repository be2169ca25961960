"""The Content-Security-Policy in real Chromium: nothing on the console, the login
page, the chat page or the demo site is blocked by it, the behaviours that used
to be inline handlers still work, and the error pages look right (issue 12)."""

import json

import pytest
from django.test import RequestFactory
from django.utils import translation
from playwright.sync_api import expect

from accounts.models import Membership
from accounts.services import membership_set
from chatbot_site.errors import handler500
from retention.services.erasure import erasure_execute, erasure_request_create
from tests.conversations.console_helpers import conversation_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Collects what the browser reports as blocked, from before any page script runs
# (an init script is injected by the browser tooling, not subject to the policy).
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def watched_page(new_page, **options):
    page = new_page(**options)
    page.add_init_script(WATCH_VIOLATIONS)
    page.csp_console = []
    page.on(
        "console",
        lambda m: page.csp_console.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return page


def assert_nothing_blocked(page, where: str) -> None:
    page.wait_for_load_state("load")
    violations = page.evaluate("window.__cspViolations || []")
    assert not violations, f"{where}: {violations}"
    assert not page.csp_console, f"{where}: {page.csp_console}"


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    assert_nothing_blocked(page, "login page")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/console/")


def test_console_login_chat_and_demo_pages_run_with_nothing_blocked(
    live_server, new_page, personas, screenshot
):
    membership_set(company=personas.company_b, user=personas.alice, role=Membership.Role.ADMIN)
    conversation = conversation_in(personas.inbox_a, status="waiting", body="Hello there")
    base = live_server.url
    page = watched_page(new_page)
    log_in(page, base, "alice", personas.password)
    assert_nothing_blocked(page, "console home")
    page.goto(f"{base}/console/conversations/")
    assert_nothing_blocked(page, "conversation list")
    page.goto(f"{base}/console/conversations/{conversation.pk}/")
    expect(page.get_by_text("Hello there")).to_be_visible()
    assert_nothing_blocked(page, "conversation")
    screenshot(page, "conversation")

    # Was onfocus="this.select()": the snippet is selected when focused.
    page.goto(f"{base}/console/inboxes/{personas.inbox_a.pk}/")
    page.locator("#widget-snippet").focus()
    selected = page.evaluate(
        "(() => { const t = document.getElementById('widget-snippet');"
        " return t.selectionEnd - t.selectionStart === t.value.length && t.value.length > 0; })()"
    )
    assert selected
    assert_nothing_blocked(page, "inbox edit")

    # Was onchange="this.form.submit()": picking another company switches at once.
    page.locator("#company-switch").select_option(str(personas.company_b.pk))
    expect(page.locator("#company-switch option:checked")).to_have_text("Bravo")
    assert_nothing_blocked(page, "after the company switch")

    visitor = watched_page(new_page)
    visitor.goto(f"{base}/chat/acme-web/")
    expect(visitor.locator("textarea, input[type=text]").first).to_be_visible()
    assert_nothing_blocked(visitor, "chat page")
    visitor.goto(f"{base}/demo/")
    assert_nothing_blocked(visitor, "demo site")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_error_pages_look_right_for_staff_and_visitors(
    live_server, new_page, personas, screenshot, width
):
    base = live_server.url
    viewport = {"width": width, "height": 800}
    visitor = watched_page(new_page, viewport=viewport, locale="de-DE")
    response = visitor.goto(f"{base}/privacy/no-such-company/")
    assert response.status == 404
    expect(visitor.get_by_role("heading", name="Seite nicht gefunden")).to_be_visible()
    assert visitor.locator(".mainnav").count() == 0
    assert_nothing_blocked(visitor, "404 for a visitor")
    screenshot(visitor, f"404-visitor-de-{width}")

    staff = watched_page(new_page, viewport=viewport)
    log_in(staff, base, "charlie", personas.password)
    response = staff.goto(f"{base}/console/no-such-page/")
    assert response.status == 404
    expect(staff.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(staff.locator(".topbar")).to_contain_text("Acme")
    assert_nothing_blocked(staff, "404 for staff")
    screenshot(staff, f"404-staff-en-{width}")
    overflow = staff.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    assert not overflow


def test_the_violation_watch_sees_an_inline_script(live_server, new_page):
    """The check above can fail: an inline script added to a page is reported."""
    page = watched_page(new_page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate(
        "(() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = true'; document.body.appendChild(s); })()"
    )
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__ran === undefined")  # blocked, not run


@pytest.mark.parametrize("width", [1280, 390])
def test_the_500_page_looks_right(live_server, new_page, screenshot, width):
    with translation.override("de"):
        html = handler500(RequestFactory().get("/")).content.decode()
    page = watched_page(new_page, viewport={"width": width, "height": 700})
    url = f"{live_server.url}/error-500-preview/"
    page.route(url, lambda route: route.fulfill(status=500, body=html, content_type="text/html"))
    page.goto(url)
    expect(page.get_by_role("heading", name="Serverfehler (500)")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('.card')).borderRadius") != "0px"
    screenshot(page, f"500-de-{width}")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_receipt_verify_page_shows_the_signed_fields(
    live_server, new_page, personas, screenshot, width
):
    conversation = conversation_in(personas.inbox_a, body="hello")
    request = erasure_request_create(
        company=personas.company_a, visitor=conversation.visitor, actor=None
    )
    receipt = erasure_execute(request=request, actor=None).receipt
    page = watched_page(new_page, viewport={"width": width, "height": 800})
    log_in(page, live_server.url, "alice", personas.password)
    page.goto(f"{live_server.url}/console/erasure/verify/")
    page.get_by_label("… or paste the receipt").fill(json.dumps(receipt, indent=2))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verdict")).to_contain_text("Valid")
    expect(page.locator("#receipt-fields")).to_contain_text(receipt["receipt"]["kid"])
    assert_nothing_blocked(page, "receipt verify")
    screenshot(page, f"receipt-verify-{width}")
