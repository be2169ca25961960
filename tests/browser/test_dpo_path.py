"""The data-protection officer's path in real Chromium, end to end through the console.

Bob (operator, Support may see personal data on inbox "Web") opens a visitor's
conversation and reveals their contact details with a reason. Alice (admin)
files the visitor's erasure request received by e-mail, sees it due one
calendar month after receipt, answers it (the erasure runs) and opens the
receipt. The audit log still shows Bob's opening and reveal, with the visitor
named by their pseudonym and none of their data; the record of processing and
its printable version open. A canary in the visitor's data must show on Bob's
revealed page and nowhere on Alice's pages.
"""

import calendar
import re
from datetime import date

import pytest
from django.utils import formats, timezone
from guardian.shortcuts import assign_perm
from playwright.sync_api import expect

from chatbot_site.lib.crypto import blind_index
from conversations.models import Visitor
from tests.browser.test_console_operator import log_in
from tests.conversations.console_helpers import conversation_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CANARY = "canary-dpo-7341"
CANARY_EMAIL = f"{CANARY}@example.org"
CANARY_NAME = "Kanaria Dpo-Seven"
WIDE = {"viewport": {"width": 1200, "height": 800}}


def one_month_after(day: date) -> date:
    """The same day next month, or that month's last day (Art. 12(3), Regulation 1182/71)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def visitor_with_contact_details(personas):
    """A waiting conversation on inbox "Web" whose visitor left a name and an e-mail."""
    conversation = conversation_in(
        personas.inbox_a, status="waiting", body="Please delete everything you hold about me."
    )
    Visitor.objects.filter(pk=conversation.visitor_id).update(
        name=CANARY_NAME, email=CANARY_EMAIL, email_index=blind_index(CANARY_EMAIL)
    )
    return conversation


def assert_no_canary(page) -> None:
    html = page.content()
    assert CANARY not in html and CANARY_NAME not in html, page.url


def test_a_dpo_erases_a_visitor_on_request_and_the_access_trail_stays_pseudonymised(
    live_server, new_page, personas, screenshot
):
    base = live_server.url
    assign_perm("conversations.view_personal_data", personas.support.group, personas.inbox_a)
    conversation = visitor_with_contact_details(personas)

    # 1. Bob opens the conversation (masked) and reveals the contact details with a reason.
    operator = new_page(**WIDE)
    log_in(operator, base, "bob", personas.password)
    operator.goto(f"{base}/console/conversations/")
    operator.get_by_role("link", name=conversation.reference).click()
    expect(operator.get_by_text("Personal data is masked.")).to_be_visible()
    assert_no_canary(operator)
    operator.get_by_text("Reveal personal data").click()
    operator.get_by_label("Reason for revealing personal data").fill(
        f"Caller says she is {CANARY_EMAIL} and wants her data deleted"
    )
    operator.get_by_role("button", name="Reveal for this view").click()
    expect(operator.get_by_role("status").filter(has_text="for this view only")).to_be_visible()
    expect(operator.locator("dl[data-live-contact]")).to_contain_text(CANARY_EMAIL)
    expect(operator.locator("dl[data-live-contact]")).to_contain_text(CANARY_NAME)

    # 2. Alice files the erasure request received by e-mail; it is due a month later.
    admin = new_page(**WIDE)
    log_in(admin, base, "alice", personas.password)
    admin.get_by_role("link", name="Requests").first.click()
    expect(admin.get_by_role("heading", name="Data-subject requests")).to_be_visible()
    admin.get_by_role("link", name="File a request").click()
    today = timezone.localdate()
    expect(admin.get_by_label("Received on")).to_have_value(today.isoformat())
    admin.get_by_label("Request", exact=True).select_option(label="Erasure (Art. 17)")
    admin.get_by_label("Received by").select_option(label="E-mail")
    admin.get_by_label("… or contact e-mail address").fill(CANARY_EMAIL)
    admin.get_by_role("button", name="File the request").click()

    due = one_month_after(today)
    expect(admin.locator(".flash")).to_contain_text(
        f"the answer is due on {formats.date_format(due, 'DATE_FORMAT')}"
    )
    heading = admin.get_by_role("heading", name=re.compile(r"Data-subject request #\d+"))
    expect(heading).to_be_visible()
    facts = admin.locator("dl.receipt-fields")
    expect(facts.locator("dt:text-is('Received on') + dd")).to_have_text(
        formats.date_format(today, "DATE_FORMAT")
    )
    expect(facts.locator("dt:text-is('Due on') + dd")).to_have_text(
        formats.date_format(due, "DATE_FORMAT")
    )
    expect(facts.locator("dt:text-is('Days left') + dd")).to_have_text(str((due - today).days))
    expect(facts.locator("dt:text-is('About') + dd")).to_have_text(
        "The visitor who left the e-mail address given (not stored)"
    )
    expect(admin.locator("section.card").first.locator(".badge")).to_have_text("Open")
    assert_no_canary(admin)
    screenshot(admin, "request-deadline")

    # 3. Alice answers it: the erasure runs, the request is done, the receipt is signed.
    expect(admin.get_by_text("Answering erases everything held about this visitor")).to_be_visible()
    admin.get_by_role("button", name="Mark as answered").click()
    expect(admin.locator(".flash")).to_contain_text("The request is answered.")
    expect(admin.locator("section.card").first.locator(".badge")).to_have_text("Done")
    expect(admin.get_by_role("heading", name="Answer")).to_have_count(0)
    admin.get_by_role("link", name=re.compile(r"Erasure request #\d+ and its receipt")).click()
    expect(admin.get_by_role("heading", name="Receipt")).to_be_visible()
    expect(admin.locator(".counts")).to_contain_text("1conversations")
    expect(admin.locator(".counts")).to_contain_text("2contact details")
    kept = admin.locator("#access-records-kept")
    expect(kept).to_contain_text("are kept, without personal data")
    pseudonym = re.search(r"named (erased-subject-\d+) in them", kept.inner_text()).group(1)
    expect(admin.get_by_role("link", name="Download receipt (JSON)")).to_be_visible()
    assert_no_canary(admin)

    # The conversation is gone for Bob too.
    operator.goto(f"{base}/console/conversations/")
    expect(operator.locator("tbody[data-rows]")).to_contain_text("No conversations match.")

    # 4. The audit log keeps Bob's access trail, about the pseudonym, without personal data.
    admin.get_by_role("link", name="Audit log").first.click()
    table = admin.locator("table.audit")
    expect(table).to_contain_text("Data erased")
    expect(table).to_contain_text("Data-subject request fulfilled")
    expect(table).to_contain_text("Data-subject request recorded")
    admin.get_by_label("Person").select_option(label="bob")
    admin.get_by_role("button", name="Filter").click()
    opened = table.locator("tbody tr", has_text="Conversation opened")
    revealed = table.locator("tbody tr", has_text="Personal data revealed")
    expect(opened).to_have_count(2)  # the masked view, then the revealed one
    expect(revealed).to_have_count(1)
    for row in (opened.first, opened.last, revealed):
        expect(row).to_contain_text("bob")
        expect(row).to_contain_text(pseudonym)
    expect(revealed).to_contain_text("Caller says she is [email removed] and wants")
    assert_no_canary(admin)
    assert conversation.reference not in admin.content()
    screenshot(admin, "audit-after-erasure")

    # 5. The record of processing, and its printable version.
    admin.get_by_role("link", name="Processing record").first.click()
    expect(admin.get_by_role("heading", name="Record of processing activities")).to_be_visible()
    expect(admin.locator("#recipients")).to_contain_text("Team Support:")
    expect(admin.locator("#recipients")).to_contain_text("sees contact details")
    expect(admin.locator("#retention")).to_contain_text("each erasure yields a signed receipt")
    expect(admin.get_by_role("button", name="Print / save as PDF")).to_be_visible()
    admin.get_by_role("link", name="Printable version").click()
    expect(admin).to_have_url(re.compile(r"/console/record/\?print=1$"))
    expect(admin.get_by_role("heading", name="Record of processing activities")).to_be_visible()
    expect(admin.locator("#controller")).to_contain_text("Acme")
    expect(admin.get_by_role("link", name="Back to the console")).to_be_visible()
    expect(admin.get_by_role("link", name="Audit log")).to_have_count(0)  # no console around it
    assert_no_canary(admin)
    screenshot(admin, "record-printable")
