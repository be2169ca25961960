"""Retention pages in real Chromium: an admin erases a visitor and downloads the receipt;
a visitor downloads and erases their own data from the chat page."""

import json

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation, Message, Visitor
from retention.models import ErasureRequest
from retention.services.erasure import receipt_verify

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, user, password, next_path):
    page.goto(f"{live_server.url}{next_path}")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}{next_path}")


def test_an_admin_runs_an_erasure_request_and_downloads_the_receipt(
    live_server, new_page, screenshot, personas, tmp_path
):
    from django.utils import timezone

    from tests.retention.helpers import make_conversation

    conv = make_conversation(
        inbox=personas.inbox_a,
        now=timezone.now(),
        age_days=3,
        bodies=("Please delete everything about me", "my mail is erase.me@example.org"),
    )
    page = new_page()
    log_in(page, live_server, personas.alice, personas.password, "/console/erasure/")

    page.get_by_label("Find the visitor by").select_option("reference")
    page.get_by_label("Value").fill(conv.reference)
    page.get_by_role("button", name="Find").click()
    expect(page.locator("table.found")).to_contain_text(conv.reference)
    screenshot(page, "erasure-find")

    page.get_by_role("button", name="Prepare erasure").click()
    expect(page.get_by_role("heading", name="What will be erased")).to_be_visible()
    expect(page.locator(".counts")).to_contain_text("2messages")
    screenshot(page, "erasure-preview")

    page.get_by_label("I understand this cannot be undone.").check()
    page.get_by_role("button", name="Erase now").click()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
    screenshot(page, "erasure-receipt")
    assert not Conversation.objects.filter(pk=conv.pk).exists()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download receipt (JSON)").click()
    path = tmp_path / "receipt.json"
    download_info.value.save_as(path)
    receipt = json.loads(path.read_text())
    assert receipt_verify(receipt)
    assert receipt["receipt"]["request_id"] == ErasureRequest.objects.get().pk

    page.get_by_role("link", name="Verify a receipt").first.click()
    page.get_by_label("Receipt file (JSON)").set_input_files(str(path))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verdict")).to_contain_text("Valid")
    screenshot(page, "receipt-verify")


def test_the_retention_page_previews_and_places_a_legal_hold(
    live_server, new_page, screenshot, personas
):
    from django.utils import timezone

    from retention.services.purge import retention_run
    from tests.retention.helpers import make_conversation

    make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=200)
    retention_run(company_id=personas.company_a.pk)  # a summary for the runs table
    old = make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=400)
    make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=40)
    page = new_page()
    log_in(page, live_server, personas.alice, personas.password, "/console/retention/")
    page.get_by_label("Delete conversations after (days)").fill("90")
    page.get_by_role("button", name="Preview (dry run)").click()
    expect(page.locator("#preview")).to_contain_text("Saving this would delete 1 conversation")
    expect(page.locator("table.runs")).to_contain_text("1 conversations")
    screenshot(page, "retention-preview")
    page.get_by_label("Conversation reference").fill(old.reference)
    page.get_by_label("Reason").fill("Pending dispute")
    page.get_by_role("button", name="Place hold").click()
    expect(page.locator(".flash")).to_contain_text("under legal hold")
    expect(page.get_by_role("cell", name=old.reference)).to_be_visible()
    page.get_by_label("Strip personal data after (days)").fill("400")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").first).to_contain_text("cannot be kept longer")
    screenshot(page, "retention-policy")


def test_a_visitor_downloads_and_erases_their_own_data_from_the_chat_page(
    live_server,
    new_page,
    screenshot,
    personas,
    tmp_path,
    fresh_rate_limits,
):
    page = new_page()
    page.goto(f"{live_server.url}/chat/acme-web/")
    page.locator("#chat-input").fill("Hello, I want my data gone")
    page.locator("#chat-send").click()
    expect(page.locator(".msg.visitor .body")).to_have_text(["Hello, I want my data gone"])
    expect(page.locator("#selfservice-erase")).to_be_visible()

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download my data").click()
    export = json.loads(open(download_info.value.path()).read())
    assert export["conversations"][0]["messages"][0]["text"] == "Hello, I want my data gone"
    screenshot(page, "chat-selfservice")

    page.get_by_role("button", name="Erase my data").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("cannot be undone")
    screenshot(page, "chat-erase-confirm")
    page.get_by_role("button", name="Yes, erase everything").click()
    expect(page.locator(".selfservice-panel.done")).to_contain_text("Your data was erased")
    expect(page.locator(".msg.visitor")).to_have_count(0)
    screenshot(page, "chat-erase-receipt")

    assert not Conversation.objects.exists() and not Message.objects.exists()
    assert not Visitor.objects.exists()
    erasure = ErasureRequest.objects.get()
    assert erasure.origin == "visitor" and receipt_verify(erasure.receipt)
    with page.expect_download() as receipt_download:
        page.get_by_role("button", name="Download receipt").click()
    assert receipt_verify(json.loads(open(receipt_download.value.path()).read()))
