"""Admins write and publish notices in real Chromium; the public transparency page."""

import pytest
from playwright.sync_api import expect

from consent.models import PrivacyNotice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/?next=/console/notices/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/console/notices/")


def test_an_admin_writes_previews_publishes_and_switches_an_inbox(
    live_server, new_page, personas, screenshot
):
    page = new_page()
    log_in(page, live_server.url, "alice", personas.password)
    page.get_by_role("link", name="Write a new notice").click()
    page.get_by_label("Title", exact=True).fill("Privacy at Acme")
    page.get_by_label("Text", exact=True).fill(
        "We keep your messages for 180 days.\n\nYou can ask us anything."
    )
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", name="Privacy notice, version 1")).to_be_visible()
    screenshot(page, "notice-draft")
    page.get_by_role("link", name="Preview").click()
    expect(page.locator(".hafen-notice-text p")).to_have_count(2)
    screenshot(page, "notice-preview")
    page.go_back()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Version 1 is published")).to_be_visible()
    assert PrivacyNotice.objects.get().is_published

    page.get_by_label("Web: require acceptance").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_label("Web: require acceptance")).to_be_checked()
    personas.inbox_a.refresh_from_db()
    assert personas.inbox_a.notice_required
    screenshot(page, "notice-list")

    page.get_by_role("link", name="Privacy at Acme").click()
    expect(page.get_by_label("Title", exact=True)).to_have_count(0)  # published: read-only
    page.get_by_role("button", name="New version from this").click()
    expect(page.get_by_role("heading", name="Privacy notice, version 2")).to_be_visible()


def test_the_transparency_page_explains_who_sees_what(live_server, new_page, personas, screenshot):
    from tests.consent.helpers import publish_notice

    personas.company_a.privacy_contact = "Data protection officer, dpo@acme.example"
    personas.company_a.save()
    publish_notice(personas.company_a, title="Privacy at Acme")
    page = new_page()
    page.goto(f"{live_server.url}/privacy/acme/?lang=en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("How Acme handles")
    expect(page.locator("#access")).to_contain_text("Team Support: reads and answers conversations")
    expect(page.locator("#retention")).to_contain_text("180 days")
    screenshot(page, "transparency")
    page.get_by_role("link", name="Version 1").click()
    expect(page.get_by_role("heading", name="Privacy at Acme")).to_be_visible()
