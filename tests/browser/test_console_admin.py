"""Teams, the rights matrix and the audit page in real Chromium.

The admin grants the Support team a right on the "Shop" inbox and the
operator's list changes; the audit page shows who opened what, without
personal data.
"""

import pytest
from playwright.sync_api import expect

from tests.browser.test_console_operator import log_in
from tests.conversations.console_helpers import conversation_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_manages_teams_grants_a_right_and_reads_the_audit_log(
    live_server, new_page, personas, screenshot
):
    base = live_server.url
    shop = conversation_in(personas.inbox_a2, status="waiting", body="Where is my parcel?")
    operator = new_page()
    log_in(operator, base, "bob", personas.password)
    operator.goto(f"{base}/console/conversations/")
    expect(operator.locator(f"text={shop.reference}")).to_have_count(0)

    admin = new_page()
    log_in(admin, base, "alice", personas.password)
    admin.get_by_role("link", name="Teams & rights").first.click()
    admin.get_by_label("Team name").fill("Night shift")
    admin.get_by_role("button", name="Create team").click()
    expect(admin.get_by_role("heading", name="Team Night shift")).to_be_visible()
    admin.get_by_label("Add a member").select_option(label="charlie (Viewer)")
    admin.get_by_role("button", name="Add").click()
    expect(admin.locator("ul.plain")).to_contain_text("charlie")
    screenshot(admin, "team-detail")

    admin.get_by_role("link", name="Edit this team's rights in the matrix").click()
    admin.get_by_label("Support – Shop – See conversations").check()
    admin.get_by_label("Support – Shop – Reply").check()
    screenshot(admin, "rights-matrix")
    admin.get_by_role("button", name="Save rights").click()
    expect(admin.get_by_role("status")).to_contain_text("2 granted, 0 revoked")
    expect(admin.get_by_label("Support – Shop – Reply")).to_be_checked()

    operator.reload()
    expect(operator.locator(f"text={shop.reference}")).to_have_count(1)
    operator.get_by_role("link", name=shop.reference).click()
    expect(operator.locator(".messages-list")).to_contain_text("Where is my parcel?")

    admin.get_by_role("link", name="Audit log").first.click()
    table = admin.locator("table.audit")
    expect(table).to_contain_text("Conversation opened")
    expect(table).to_contain_text("Right on an inbox granted to a team")
    expect(table).to_contain_text("Member added to a team")
    assert "Where is my parcel?" not in admin.content()
    admin.get_by_label("Person").select_option(label="bob")
    admin.get_by_role("button", name="Filter").click()
    # Bob's trail: his sign-in and the one conversation he opened.
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("Signed in")
    expect(table.locator("tbody tr", has_text="Conversation opened")).to_contain_text(
        shop.reference
    )
    screenshot(admin, "audit-filtered")

    admin.get_by_role("link", name="Home").click()
    expect(admin.get_by_role("heading", name="Waiting for a human")).to_be_visible()
    screenshot(admin, "admin-home")
