"""The "try the bot" box on the FAQ page: admins only, shows decide(), stores and logs nothing."""

import logging

import pytest
from auditlog.models import LogEntry

from conversations import bot
from conversations.models import FaqEntry
from tests.canary import decrypted_and_raw_text

pytestmark = pytest.mark.django_db

CANARY = "zebra-canary-7781 where is my parcel"


@pytest.fixture
def faq(personas):
    inbox = personas.inbox_a
    parcel = FaqEntry.objects.create(
        company=personas.company_a,
        inbox=inbox,
        questions="Where is my parcel?\nTrack my order\nWhen will my order arrive?",
        answer="Follow the tracking link in your e-mail.",
    )
    FaqEntry.objects.create(
        company=personas.company_a,
        inbox=inbox,
        questions="How do I return an item?\nI want to send my order back",
        answer="Use the return label.",
    )
    return parcel


def try_text(client, inbox, text, language="en"):
    return client.post(f"/console/inboxes/{inbox.pk}/faq/", {"text": text, "language": language})


def test_the_page_shows_what_decide_would_answer_with_kind_and_confidence(personas, login, faq):
    client = login(personas.alice)
    text = "Where is my parcel?"
    expected = bot.decide(inbox=personas.inbox_a, text=text, language="en")
    response = try_text(client, personas.inbox_a, text)
    assert response.status_code == 200
    page = response.content.decode()
    assert response.context["decision"] == expected
    assert expected.kind == "answer" and expected.entry_id == faq.pk
    assert "Follow the tracking link in your e-mail." in page
    assert f"confidence {round(expected.confidence * 100)} %" in page
    assert f"/console/inboxes/{personas.inbox_a.pk}/faq/{faq.pk}/" in page


def test_suggestions_are_listed_when_the_bot_offers_them(personas, login, faq):
    # two more entries about orders, so that a vague question sits between several
    for questions, answer in [
        ("How do I cancel my order?\nCancel my order", "Cancel in your account."),
        ("How do I change my order?\nChange my order", "Write to us to change it."),
    ]:
        FaqEntry.objects.create(
            company=personas.company_a, inbox=personas.inbox_a, questions=questions, answer=answer
        )
    client = login(personas.alice)
    for text in ["send back parcel", "parcel order return", "order", "my order"]:
        decision = bot.decide(inbox=personas.inbox_a, text=text, language="en")
        if decision.suggestions:
            page = try_text(client, personas.inbox_a, text).content.decode()
            for s in decision.suggestions:
                assert s.label in page
            return
    pytest.fail("the bot offered no suggestions for any of these vague questions")


def test_an_unknown_question_says_so(personas, login, faq):
    client = login(personas.alice)
    text = "qwxz plorf vintage submarine licence"
    decision = bot.decide(inbox=personas.inbox_a, text=text, language="en")
    assert decision.kind == "unknown"
    response = try_text(client, personas.inbox_a, text)
    assert "Does not understand" in response.content.decode()


def test_the_typed_text_is_neither_stored_nor_logged(personas, login, faq, caplog):
    client = login(personas.alice)
    entries_before = LogEntry.objects.count()
    with caplog.at_level(logging.DEBUG):
        response = try_text(client, personas.inbox_a, CANARY)
    assert response.status_code == 200
    assert "zebra-canary-7781" not in caplog.text
    assert "zebra-canary-7781" not in decrypted_and_raw_text()
    assert LogEntry.objects.count() == entries_before


def test_empty_or_too_long_text_is_a_form_error(personas, login, faq):
    client = login(personas.alice)
    response = try_text(client, personas.inbox_a, "  ")
    assert response.status_code == 400 and "Type a message to try." in response.content.decode()
    response = try_text(client, personas.inbox_a, "x" * 1001)
    assert response.status_code == 400 and "decision" not in response.context
    response = try_text(client, personas.inbox_a, "hello", language="fr")
    assert response.status_code == 400


@pytest.mark.parametrize("user", ["bob", "charlie", "dave"])
def test_the_try_box_is_admin_only_and_company_scoped(personas, login, faq, user):
    client = login(getattr(personas, user))
    assert try_text(client, personas.inbox_a, "Where is my parcel?").status_code == 404
    assert client.get(f"/console/inboxes/{personas.inbox_a.pk}/faq/").status_code == 404


def test_the_faq_page_links_upload_download_and_try(personas, login, faq):
    client = login(personas.alice)
    page = client.get(f"/console/inboxes/{personas.inbox_a.pk}/faq/").content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert "faq/export/?format=csv" in page and "faq/export/?format=json" in page
    assert "Try the bot" in page
    edit = client.get(f"/console/inboxes/{personas.inbox_a.pk}/").content.decode()
    assert f"/console/inboxes/{personas.inbox_a.pk}/faq/" in edit
