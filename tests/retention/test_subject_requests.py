"""Data-subject requests: deadlines (Art. 12(3)), conditional status changes, self-service
records, the console pages, and no contact e-mail in the audit log or the logs."""

from __future__ import annotations

import logging
import threading
from datetime import date, timedelta

import pytest
from auditlog.models import LogEntry
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Membership
from chatbot_site.lib.crypto import blind_index
from conversations.models import Conversation, Visitor
from conversations.services.visitors import visitor_create
from retention.deadlines import add_months, due_date
from retention.models import ErasureRequest, SubjectRequest
from retention.services.requests import (
    SubjectRequestError,
    subject_request_create,
    subject_request_extend,
    subject_request_fulfil,
    subject_request_refuse,
    subject_request_wait_identity,
)
from tests.canary import raw_table_text
from tests.concurrency import wait_for_lock_waiters
from tests.retention.helpers import make_conversation
from tests.services import need_postgres

pytestmark = pytest.mark.django_db

CANARY_EMAIL = "canary-dsr-5813@example.org"


def admin_of_a(personas) -> Membership:
    return Membership.objects.select_related("user", "company").get(
        user=personas.alice, company=personas.company_a
    )


@pytest.fixture
def conversation(personas):
    return make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=1)


def file_request(personas, conversation, *, kind="rectification", received_on=None):
    return subject_request_create(
        membership=admin_of_a(personas),
        kind=kind,
        channel=SubjectRequest.Channel.EMAIL,
        received_on=received_on or timezone.localdate(),
        conversation_reference=conversation.reference,
    )


# --------------------------------------------------------------------------- #
# Deadlines
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "received,months,expected",
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2025, 3, 31), 1, date(2025, 4, 30)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),  # over the year's end
        (date(2025, 1, 31), 3, date(2025, 4, 30)),  # extended: counted from receipt
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
    ],
)
def test_a_month_later_is_the_same_day_or_the_months_last_day(received, months, expected):
    assert add_months(received, months) == expected
    assert due_date(received_on=received, extension_months=months - 1) == expected


def test_a_deadline_cannot_be_extended_beyond_two_months():
    with pytest.raises(ValueError):
        due_date(received_on=date(2025, 1, 1), extension_months=3)


def test_a_filed_request_is_due_one_calendar_month_after_receipt(personas, conversation):
    filed = file_request(personas, conversation, received_on=date(2025, 1, 31))
    assert filed.due_on == date(2025, 2, 28) and filed.deadline == date(2025, 2, 28)
    assert filed.status == SubjectRequest.Status.OPEN and filed.handled_by == personas.alice


def test_an_extension_needs_a_reason_and_at_most_two_months_in_all(personas, conversation):
    admin = admin_of_a(personas)
    filed = file_request(personas, conversation, received_on=date(2025, 1, 31))
    with pytest.raises(SubjectRequestError) as missing:
        subject_request_extend(membership=admin, request=filed, months=1, reason="  ")
    assert missing.value.code == "reason_missing" and missing.value.field == "reason"
    once = subject_request_extend(
        membership=admin, request=filed, months=1, reason="many requests this month"
    )
    assert once.extended_due_on == date(2025, 3, 31)
    twice = subject_request_extend(membership=admin, request=once, months=1, reason="complex")
    assert twice.extended_due_on == date(2025, 4, 30) and twice.extension_months == 2
    with pytest.raises(SubjectRequestError) as too_long:
        subject_request_extend(membership=admin, request=twice, months=1, reason="more")
    assert too_long.value.code == "extension_too_long"
    assert SubjectRequest.objects.get(pk=filed.pk).extended_due_on == date(2025, 4, 30)


def test_reasons_are_stored_redacted(personas, conversation):
    filed = file_request(personas, conversation)
    refused = subject_request_refuse(
        membership=admin_of_a(personas),
        request=filed,
        reason=f"manifestly unfounded, says {CANARY_EMAIL}",
    )
    assert refused.status == SubjectRequest.Status.REFUSED and refused.closed_at
    assert CANARY_EMAIL not in refused.refusal_reason
    assert "manifestly unfounded" in refused.refusal_reason


def test_a_closed_request_cannot_change_any_more(personas, conversation):
    admin = admin_of_a(personas)
    filed = file_request(personas, conversation)
    subject_request_fulfil(membership=admin, request=filed, note="address corrected")
    filed.refresh_from_db()
    for act in (
        lambda: subject_request_refuse(membership=admin, request=filed, reason="no"),
        lambda: subject_request_extend(membership=admin, request=filed, months=1, reason="x"),
        lambda: subject_request_wait_identity(membership=admin, request=filed),
    ):
        with pytest.raises(SubjectRequestError) as closed:
            act()
        assert closed.value.code == "closed"


def test_a_write_based_on_a_stale_read_loses_and_says_so(personas, conversation):
    admin = admin_of_a(personas)
    filed = file_request(personas, conversation)
    stale = SubjectRequest.objects.get(pk=filed.pk)
    subject_request_refuse(membership=admin, request=filed, reason="not the data subject")
    with pytest.raises(SubjectRequestError) as lost:
        subject_request_fulfil(membership=admin, request=stale, note="corrected")
    assert lost.value.code == "conflict"
    again = SubjectRequest.objects.get(pk=filed.pk)
    assert again.status == SubjectRequest.Status.REFUSED and again.note == ""
    events = LogEntry.objects.filter(additional_data__subject_request_id=filed.pk)
    assert sorted(e.additional_data["event"] for e in events) == [
        "subject_request.create",
        "subject_request.refuse",
    ]


def test_only_the_companys_admins_handle_requests(personas, conversation):
    from chatbot_site.lib.errors import NotAllowed

    filed = file_request(personas, conversation)
    bob = Membership.objects.get(user=personas.bob, company=personas.company_a)
    dave = Membership.objects.get(user=personas.dave, company=personas.company_b)
    for membership in (bob, dave):
        with pytest.raises(NotAllowed):
            subject_request_refuse(membership=membership, request=filed, reason="no")


def test_answering_an_erasure_request_erases_and_links_the_receipt(personas, conversation):
    filed = file_request(personas, conversation, kind="erasure")
    done = subject_request_fulfil(membership=admin_of_a(personas), request=filed).request
    assert done.status == SubjectRequest.Status.DONE
    erasure = ErasureRequest.objects.get(pk=done.erasure_id)
    assert erasure.status == ErasureRequest.Status.DONE and erasure.receipt
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert done.conversation_reference == "" and conversation.reference not in raw_table_text()


# --------------------------------------------------------------------------- #
# Two admins at once, on PostgreSQL with real threads
# --------------------------------------------------------------------------- #


class Worker(threading.Thread):
    def __init__(self, fn, *, hold: bool = False):
        super().__init__(daemon=True)
        self.fn, self.hold, self.result, self.error = fn, hold, None, None
        self.ready, self.go = threading.Event(), threading.Event()

    def run(self):
        try:
            with translation.override("en"), transaction.atomic():
                self.result = self.fn()
                self.ready.set()
                if self.hold:
                    assert self.go.wait(20)
        except BaseException as exc:  # noqa: BLE001 (handed to the test)
            self.error = exc
        finally:
            self.ready.set()
            connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_of_a_fulfil_and_a_refuse_racing_exactly_one_wins(personas):
    need_postgres()
    conversation = make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=1)
    filed = file_request(personas, conversation)
    admin = admin_of_a(personas)
    first_copy = SubjectRequest.objects.get(pk=filed.pk)
    second_copy = SubjectRequest.objects.get(pk=filed.pk)  # both read it open
    first = Worker(
        lambda: subject_request_fulfil(membership=admin, request=first_copy, note="fixed"),
        hold=True,
    )
    first.start()
    assert first.ready.wait(20) and first.error is None, first.error
    second = Worker(
        lambda: subject_request_refuse(membership=admin, request=second_copy, reason="no")
    )
    second.start()
    wait_for_lock_waiters(1)  # the refuse's UPDATE waits for the fulfil's row lock
    first.go.set()
    first.join(20)
    second.join(20)
    assert not first.is_alive() and not second.is_alive()
    assert first.error is None
    assert isinstance(second.error, SubjectRequestError) and second.error.code == "conflict"
    final = SubjectRequest.objects.get(pk=filed.pk)
    assert final.status == SubjectRequest.Status.DONE and final.refusal_reason == ""
    assert LogEntry.objects.filter(additional_data__event="subject_request.refuse").count() == 0


# --------------------------------------------------------------------------- #
# Chat self-service
# --------------------------------------------------------------------------- #


@pytest.fixture
def chat_visitor(personas):
    visitor, token = visitor_create(inbox=personas.inbox_a)
    make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=1, visitor=visitor)
    return visitor, token


def test_a_self_service_erasure_from_the_chat_files_a_completed_request(
    client, personas, chat_visitor
):
    _visitor, token = chat_visitor
    response = client.post("/api/chat/acme-web/erase", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    filed = SubjectRequest.objects.get()
    assert (filed.kind, filed.channel, filed.status) == ("erasure", "chat", "done")
    assert filed.identity_verified and filed.closed_at and filed.handled_by is None
    assert filed.erasure_id == response.json()["receipt"]["request_id"]
    assert filed.conversation_reference == "" and filed.email_index == ""


def test_a_self_service_export_from_the_chat_files_a_completed_request(
    client, personas, chat_visitor
):
    _visitor, token = chat_visitor
    response = client.get("/api/chat/acme-web/export", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    filed = SubjectRequest.objects.get()
    assert (filed.kind, filed.channel, filed.status) == ("access", "chat", "done")
    assert filed.exported_at is not None
    assert filed.conversation_reference == response.json()["conversations"][0]["reference"]


def test_a_refused_self_service_erasure_files_no_request(client, personas, chat_visitor):
    from retention.services.holds import legal_hold_place

    visitor, token = chat_visitor
    legal_hold_place(conversation=Conversation.objects.get(visitor=visitor), reason="x", actor=None)
    response = client.post("/api/chat/acme-web/erase", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 409
    assert not SubjectRequest.objects.exists()


# --------------------------------------------------------------------------- #
# Console pages
# --------------------------------------------------------------------------- #


def test_the_list_and_detail_pages_render_for_an_admin(personas, login, conversation):
    filed = file_request(personas, conversation)
    client = login(personas.alice)
    listing = client.get(reverse("retention:subject_request_list"))
    assert listing.status_code == 200 and f"#{filed.pk}" in listing.content.decode()
    assert listing["Cache-Control"] == "no-store"
    detail = client.get(reverse("retention:subject_request_detail", args=[filed.pk]))
    assert detail.status_code == 200 and conversation.reference in detail.content.decode()
    assert "<script>" not in detail.content.decode() and "onclick" not in detail.content.decode()
    closed = client.get(reverse("retention:subject_request_list") + "?show=closed")
    assert f"#{filed.pk}" not in closed.content.decode()


def test_operators_and_other_companies_admins_do_not_see_the_pages(personas, login, conversation):
    filed = file_request(personas, conversation)
    for user in (personas.bob, personas.dave):
        client = login(user)
        detail = client.get(reverse("retention:subject_request_detail", args=[filed.pk]))
        assert detail.status_code in (403, 404)
        refuse = client.post(
            reverse("retention:subject_request_refuse", args=[filed.pk]), {"reason": "x"}
        )
        assert refuse.status_code in (403, 404)
    login(personas.bob)
    assert client.get(reverse("retention:subject_request_list")).status_code in (403, 404)
    dave_list = login(personas.dave).get(reverse("retention:subject_request_list"))
    assert dave_list.status_code == 200 and f"#{filed.pk}<" not in dave_list.content.decode()
    assert SubjectRequest.objects.get(pk=filed.pk).status == SubjectRequest.Status.OPEN


def test_the_received_date_is_prefilled_in_the_form_a_date_input_reads_in_german(personas, login):
    # <input type="date"> takes ISO dates only; the German format (02.12.2026)
    # would leave it empty and the required field would fail on submit.
    personas.company_a.language = "de"
    personas.company_a.save(update_fields=["language"])
    form = login(personas.alice).get(reverse("retention:subject_request_new"))
    assert "Eingegangen am" in form.content.decode()
    assert f'value="{timezone.localdate().isoformat()}"' in form.content.decode()


def test_filing_from_the_form_redirects_to_the_new_request(personas, login, conversation):
    client = login(personas.alice)
    form = client.get(reverse("retention:subject_request_new"))
    assert timezone.localdate().isoformat() in form.content.decode()  # received_on defaults
    response = client.post(
        reverse("retention:subject_request_new"),
        {
            "kind": "access",
            "channel": "letter",
            "received_on": timezone.localdate().isoformat(),
            "conversation_reference": conversation.reference.lower(),
        },
    )
    filed = SubjectRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("retention:subject_request_detail", args=[filed.pk])
    assert filed.conversation_reference == conversation.reference


@pytest.mark.parametrize(
    "data,message",
    [
        ({"conversation_reference": "NOPE1234"}, "No conversation of this company"),
        ({"email": "nobody@example.org"}, "No visitor of this company left that e-mail"),
        ({}, "Give either the conversation reference or the contact e-mail"),
    ],
)
def test_bad_identities_are_form_errors(personas, login, data, message):
    response = login(personas.alice).post(
        reverse("retention:subject_request_new"),
        {"kind": "erasure", "channel": "email", "received_on": "2025-01-31", **data},
    )
    assert response.status_code == 400 and message in response.content.decode()
    assert not SubjectRequest.objects.exists()


def test_bad_actions_are_shown_on_the_detail_page(personas, login, conversation):
    filed = file_request(personas, conversation)
    client = login(personas.alice)
    extend = reverse("retention:subject_request_extend", args=[filed.pk])
    no_reason = client.post(extend, {"months": "1", "reason": ""})
    assert no_reason.status_code == 400 and 'role="alert"' in no_reason.content.decode()
    ok = client.post(extend, {"months": "2", "reason": "complex"})
    assert ok.status_code == 302
    beyond = client.post(extend, {"months": "1", "reason": "still complex"})
    assert beyond.status_code == 400
    assert "at most two further months" in beyond.content.decode()
    refuse = reverse("retention:subject_request_refuse", args=[filed.pk])
    assert client.post(refuse, {"reason": "unfounded"}).status_code == 302
    followed = client.get(reverse("retention:subject_request_detail", args=[filed.pk]))
    assert "The request is refused" in followed.content.decode()  # messages framework
    closed = client.post(refuse, {"reason": "again"})
    assert closed.status_code == 409 and "This request is closed" in closed.content.decode()


def test_answering_an_access_request_downloads_the_export(personas, login, conversation):
    filed = file_request(personas, conversation, kind="access")
    response = login(personas.alice).post(
        reverse("retention:subject_request_fulfil", args=[filed.pk]), {"note": ""}
    )
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert response.json()["conversations"][0]["reference"] == conversation.reference
    done = SubjectRequest.objects.get(pk=filed.pk)
    assert done.status == SubjectRequest.Status.DONE and done.exported_at is not None
    assert LogEntry.objects.filter(additional_data__event="visitor.export").count() == 1


def test_the_home_page_shows_a_request_due_within_seven_days(personas, login, conversation):
    soon = file_request(
        personas, conversation, received_on=add_months(timezone.localdate(), -1) + timedelta(3)
    )
    later = file_request(personas, conversation)
    page = login(personas.alice).get(reverse("accounts:home")).content.decode()
    assert "Data-subject requests" in page
    assert reverse("retention:subject_request_detail", args=[soon.pk]) in page
    assert reverse("retention:subject_request_detail", args=[later.pk]) not in page
    operator_page = login(personas.bob).get(reverse("accounts:home")).content.decode()
    assert "Data-subject requests" not in operator_page


# --------------------------------------------------------------------------- #
# Canary: the contact e-mail is never stored with the request, audited or logged
# --------------------------------------------------------------------------- #


def test_a_contact_email_used_to_file_a_request_is_in_no_audit_entry_and_no_log(
    personas, login, caplog, conversation
):
    Visitor.objects.filter(pk=conversation.visitor_id).update(
        email=CANARY_EMAIL, email_index=blind_index(CANARY_EMAIL)
    )
    caplog.set_level(logging.DEBUG)
    client = login(personas.alice)
    response = client.post(
        reverse("retention:subject_request_new"),
        {
            "kind": "erasure",
            "channel": "email",
            "received_on": timezone.localdate().isoformat(),
            "email": CANARY_EMAIL.upper(),
        },
    )
    assert response.status_code == 302
    filed = SubjectRequest.objects.get()
    assert filed.email_index == blind_index(CANARY_EMAIL)
    client.post(
        reverse("retention:subject_request_extend", args=[filed.pk]),
        {"months": "1", "reason": f"wrote from {CANARY_EMAIL}"},
    )
    client.post(reverse("retention:subject_request_fulfil", args=[filed.pk]), {"note": ""})
    assert SubjectRequest.objects.get().status == SubjectRequest.Status.DONE
    audit = str(list(LogEntry.objects.values()))
    assert "subject_request.create" in audit and "subject_request.extend" in audit
    for needle in (CANARY_EMAIL, CANARY_EMAIL.upper(), "canary-dsr-5813"):
        assert needle not in audit
        assert needle not in str(list(SubjectRequest.objects.values()))
        assert needle not in caplog.text
    # after the erasure, nothing anywhere holds it (the visitor's row is gone)
    assert "canary-dsr-5813" not in raw_table_text()
