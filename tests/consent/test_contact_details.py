"""Contact details only with an explicit opt-in; withdrawal wipes the row at once."""

import logging

import pytest

from chatbot_site.lib.crypto import blind_index
from consent.models import ConsentRecord
from consent.selectors import visitor_has_contact_consent
from conversations.models import Message, Visitor
from tests.consent.helpers import api, audit_text, publish_notice, raw_visitor_row, row_counts
from tests.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db

CANARY_NAME = "Canary Quetzalcoatl Hafenstein"
CANARY_EMAIL = "canary.q7x2@example.org"
CANARY_PHONE = "+49 30 98765432"


@pytest.fixture
def token(client, personas):
    publish_notice(personas.company_a)
    return api(client, "post", "/chat/acme-web/notice/accept", {"version": 1}).json()["token"]


def give(client, token, **overrides):
    payload = {
        "name": CANARY_NAME,
        "email": CANARY_EMAIL,
        "phone": CANARY_PHONE,
        "purpose": "So we can call you back.",
        "opt_in": True,
        **overrides,
    }
    return api(client, "post", "/chat/acme-web/contact", payload, token=token)


def test_it_stores_contact_details_encrypted_after_opt_in(client, personas, token):
    response = give(client, token)
    assert response.status_code == 201
    assert response.json()["granted"] is True
    assert response.json()["phone"] == "+493098765432"
    visitor = Visitor.objects.get()
    assert (visitor.name, visitor.email, visitor.phone) == (
        CANARY_NAME,
        CANARY_EMAIL,
        "+493098765432",
    )
    raw = raw_visitor_row(visitor.pk)
    for column in ("name", "email", "phone"):
        assert raw[column] and "Canary" not in raw[column] and "canary" not in raw[column]
        assert "98765432" not in raw[column]
    assert raw["email_index"] == blind_index(CANARY_EMAIL)
    assert Visitor.objects.filter(email_index=blind_index("CANARY.Q7X2@example.org")).exists()
    record = ConsentRecord.objects.get(purpose=ConsentRecord.Purpose.CONTACT)
    assert record.action == ConsentRecord.Action.GRANTED
    assert record.purpose_text == "So we can call you back."
    assert visitor_has_contact_consent(visitor=visitor)


@pytest.mark.parametrize("opt_in", [False, None, "yes", 1, "true", "missing"])
def test_it_refuses_contact_details_without_an_explicit_opt_in(client, personas, token, opt_in):
    before = row_counts()
    if opt_in == "missing":
        payload = {"email": CANARY_EMAIL, "purpose": "So we can call you back."}
        response = api(client, "post", "/chat/acme-web/contact", payload, token=token)
    else:
        response = give(client, token, opt_in=opt_in)
    assert response.status_code == 400
    assert response.json()["error"] == "opt_in_required"
    assert row_counts() == before
    assert raw_visitor_row(Visitor.objects.get().pk)["email_index"] == ""
    assert CANARY_EMAIL not in response.content.decode()


def test_it_answers_400_opt_in_required_when_the_box_is_not_ticked(client, personas, token):
    response = give(client, token, opt_in=False)
    assert response.status_code == 400
    assert response.json()["error"] == "opt_in_required"
    assert Visitor.objects.get().email == ""


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"email": "not-an-email"}, "email_invalid"),
        ({"email": "a@b"}, "email_invalid"),
        ({"phone": "12345"}, "phone_invalid"),
        ({"phone": "+49 30 1"}, "phone_invalid"),
        ({"email": "", "phone": ""}, "contact_missing"),
        ({"purpose": "   "}, "purpose_missing"),
        ({"name": "x" * 201}, "name_too_long"),
    ],
)
def test_it_rejects_invalid_details_with_a_clear_400_and_writes_nothing(
    client, personas, token, overrides, code
):
    before = row_counts()
    response = give(client, token, **overrides)
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert response.json()["message"]
    assert row_counts() == before
    assert raw_visitor_row(Visitor.objects.get().pk)["email_index"] == ""


def test_it_reads_national_phone_numbers_in_the_companys_country(client, personas, token):
    response = give(client, token, phone="030 12345678", email="")
    assert response.status_code == 201
    assert Visitor.objects.get().phone == "+493012345678"


def test_it_needs_a_valid_visitor_token(client, personas, token):
    response = api(client, "post", "/chat/acme-web/contact", {"opt_in": True})
    assert response.status_code == 401
    response = give(client, "forged-token")
    assert response.status_code == 401


def test_it_refuses_contact_details_while_the_notice_is_owed(client, personas, token):
    personas.inbox_a.notice_required = True
    personas.inbox_a.save()
    publish_notice(personas.company_a, version=2)
    response = give(client, token)
    assert response.status_code == 403
    assert response.json() == {
        "error": "notice_required",
        "message": response.json()["message"],
        "notice_version": 2,
    }
    assert Visitor.objects.get().email == ""


def test_it_wipes_the_details_from_the_row_on_withdrawal(client, personas, token):
    give(client, token)
    visitor = Visitor.objects.get()
    response = api(client, "post", "/chat/acme-web/contact/withdraw", token=token)
    assert response.status_code == 200
    assert "deleted" in response.json()["message"]
    assert raw_visitor_row(visitor.pk) == {"name": "", "email": "", "phone": "", "email_index": ""}
    visitor.refresh_from_db()
    assert not visitor.has_contact_details
    assert not visitor_has_contact_consent(visitor=visitor)
    actions = list(
        ConsentRecord.objects.filter(purpose=ConsentRecord.Purpose.CONTACT).values_list(
            "action", flat=True
        )
    )
    assert actions == [ConsentRecord.Action.GRANTED, ConsentRecord.Action.WITHDRAWN]
    assert not Visitor.objects.filter(email_index=blind_index(CANARY_EMAIL)).exists()


def test_it_records_no_withdrawal_when_nothing_was_granted(client, personas, token):
    response = api(client, "post", "/chat/acme-web/contact/withdraw", token=token)
    assert response.status_code == 200
    assert not ConsentRecord.objects.filter(purpose=ConsentRecord.Purpose.CONTACT).exists()


def test_it_redacts_what_the_visitor_wrote_while_consent_stood_on_withdrawal(
    client, personas, token
):
    give(client, token)
    visitor = Visitor.objects.get()
    conversation = ConversationFactory(inbox=personas.inbox_a, visitor=visitor)
    kept = MessageFactory(conversation=conversation, body=f"Mail me at {CANARY_EMAIL} please")
    bot = MessageFactory(
        conversation=conversation, sender=Message.Sender.BOT, body="Thanks, noted."
    )
    api(client, "post", "/chat/acme-web/contact/withdraw", token=token)
    kept.refresh_from_db()
    assert kept.body == "Mail me at [email removed] please"
    assert kept.redacted_count == 1
    bot.refresh_from_db()
    assert bot.body == "Thanks, noted."


def test_it_shows_the_visitor_their_own_consent_state(client, personas, token):
    state = api(client, "get", "/chat/acme-web/consents", token=token).json()
    assert state["accepted_version"] == 1
    assert state["contact"]["granted"] is False and state["contact"]["email"] == ""
    assert state["contact"]["requested"] is False and state["contact"]["purpose"]
    give(client, token)
    state = api(client, "get", "/chat/acme-web/consents", token=token).json()
    assert state["contact"]["granted"] is True
    assert state["contact"]["email"] == CANARY_EMAIL
    assert [(r["purpose"], r["action"]) for r in state["records"]] == [
        ("notice", "granted"),
        ("contact", "granted"),
    ]
    api(client, "post", "/chat/acme-web/contact/withdraw", token=token)
    state = api(client, "get", "/chat/acme-web/consents", token=token).json()
    assert state["contact"]["granted"] is False and state["contact"]["name"] == ""
    assert state["records"][-1]["action"] == "withdrawn"


def test_it_shows_consents_only_to_the_visitor_themselves(client, personas, token):
    assert api(client, "get", "/chat/acme-web/consents").status_code == 401
    assert api(client, "get", "/chat/bravo-web/consents", token=token).status_code == 401


def test_it_keeps_the_canary_out_of_the_audit_log_and_the_logs(client, personas, token, caplog):
    caplog.set_level(logging.DEBUG)
    give(client, token)
    api(client, "post", "/chat/acme-web/contact/withdraw", token=token)
    give(client, token, phone="")
    haystack = audit_text() + caplog.text
    for canary in (CANARY_NAME, CANARY_EMAIL, "98765432", "Quetzalcoatl", "q7x2"):
        assert canary not in haystack
    events = set(
        __import__("auditlog.models", fromlist=["LogEntry"])
        .LogEntry.objects.filter(additional_data__company_id=personas.company_a.pk)
        .values_list("additional_data__event", flat=True)
    )
    assert {"consent.contact_grant", "consent.contact_withdraw"} <= events
