"""The unanswered-questions page: rights and masking like the console, "add as variant"."""

import pytest
from auditlog.models import LogEntry

from accounts.models import Membership
from conversations.models import FaqEntry, Inbox, Message
from conversations.selectors import unanswered as unanswered_selectors
from conversations.services.unanswered import UnansweredError, unanswered_add_as_variant
from tests.conversations.console_helpers import conversation_in
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

CANARY_EMAIL = "canary.unanswered@example.org"
URL = "/console/unanswered/"


def question(inbox, body, outcome=Message.BotOutcome.NOT_UNDERSTOOD, sender="visitor"):
    conversation = conversation_in(inbox)
    return MessageFactory(conversation=conversation, body=body, bot_outcome=outcome, sender=sender)


@pytest.fixture
def questions(personas):
    return {
        "web": question(personas.inbox_a, "Do you ship to Mars?"),
        "shop": question(personas.inbox_a2, "Can I pay with seashells?"),
        "email": question(personas.inbox_a, f"Write me at {CANARY_EMAIL} about gift cards"),
        "answered": question(
            personas.inbox_a, "Where is my parcel?", outcome=Message.BotOutcome.ANSWERED
        ),
        "bravo": question(personas.inbox_b, "Bravo question nobody in A may see"),
    }


@pytest.fixture
def entry(personas):
    return FaqEntry.objects.create(
        company=personas.company_a,
        inbox=personas.inbox_a,
        questions="Do you sell gift cards?",
        answer="Yes, in the shop.",
    )


def membership(personas, user):
    company = personas.company_b if user == personas.dave else personas.company_a
    return Membership.objects.select_related("user", "company").get(user=user, company=company)


def test_admins_see_every_not_understood_question_of_their_company_newest_first(
    personas, login, questions
):
    page = login(personas.alice).get(URL)
    assert page.status_code == 200
    shown = [q.id for q in page.context["page"].questions]
    assert shown == [questions["email"].pk, questions["shop"].pk, questions["web"].pk]
    text = page.content.decode()
    assert "Bravo question" not in text and "Where is my parcel?" not in text


@pytest.mark.parametrize("user", ["bob", "charlie"])
def test_operators_and_viewers_see_only_the_inboxes_their_teams_may_see(
    personas, login, questions, user
):
    client = login(getattr(personas, user))
    page = client.get(URL)
    shown = {q.id for q in page.context["page"].questions}
    assert shown == {questions["web"].pk, questions["email"].pk}
    assert "seashells" not in page.content.decode()
    assert "add-variant" not in page.content.decode()  # no "add as variant" for them
    # asking for an inbox they may not see shows nothing, not everything
    page = client.get(URL, {"inbox": personas.inbox_a2.pk})
    assert page.context["page"].questions == []


def test_the_inbox_filter_narrows_the_list(personas, login, questions):
    page = login(personas.alice).get(URL, {"inbox": personas.inbox_a2.pk})
    assert [q.id for q in page.context["page"].questions] == [questions["shop"].pk]


def test_another_company_sees_only_its_own(personas, login, questions):
    page = login(personas.dave).get(URL)
    assert [q.id for q in page.context["page"].questions] == [questions["bravo"].pk]
    assert "Acme" not in page.content.decode()


def test_personal_data_is_masked_even_in_a_consented_message(personas, login, questions):
    for user in (personas.alice, personas.bob):
        text = login(user).get(URL).content.decode()
        assert CANARY_EMAIL not in text
        assert "about gift cards" in text


def test_opening_the_page_is_audited_with_ids_only(personas, login, questions):
    login(personas.bob).get(URL)
    entry = LogEntry.objects.get(additional_data__event="unanswered.list")
    assert entry.action == LogEntry.Action.ACCESS and entry.actor == personas.bob
    assert sorted(entry.additional_data["message_ids"]) == sorted(
        [questions["web"].pk, questions["email"].pk]
    )
    assert CANARY_EMAIL not in str(entry.additional_data) and "Mars" not in str(entry.changes)


def test_pages_are_keyset_by_id(personas, login, questions, monkeypatch):
    monkeypatch.setattr(unanswered_selectors, "PAGE_SIZE", 2)
    client = login(personas.alice)
    first = client.get(URL)
    assert len(first.context["page"].questions) == 2
    assert first.context["next_query"] == f"before={questions['shop'].pk}"
    second = client.get(URL + "?" + first.context["next_query"])
    assert [q.id for q in second.context["page"].questions] == [questions["web"].pk]
    assert second.context["next_query"] is None


def test_the_list_takes_a_fixed_number_of_queries(
    personas, login, questions, django_assert_max_num_queries
):
    client = login(personas.alice)
    client.get(URL)
    for n in range(20):
        question(personas.inbox_a, f"question {n}")
    with django_assert_max_num_queries(12):
        page = client.get(URL)
    assert len(page.context["page"].questions) == 23


def test_admin_adds_the_masked_text_as_a_variant_and_the_version_goes_up(
    personas, login, questions, entry
):
    client = login(personas.alice)
    version = Inbox.objects.get(pk=personas.inbox_a.pk).faq_version
    response = client.post(
        URL + "add/", {"message": questions["email"].pk, "entry": entry.pk, "next": URL}
    )
    assert response.status_code == 302 and response["Location"] == URL
    entry.refresh_from_db()
    assert len(entry.question_list) == 2
    added = entry.question_list[1]
    assert CANARY_EMAIL not in added and "about gift cards" in added
    assert Message.objects.get(pk=questions["email"].pk).bot_outcome == "resolved"
    assert Inbox.objects.get(pk=personas.inbox_a.pk).faq_version == version + 1
    event = LogEntry.objects.get(additional_data__event="faq.variant_added")
    assert event.additional_data["message_id"] == questions["email"].pk
    assert "gift" not in str(event.additional_data) and "gift" not in str(event.changes)
    # it is gone from the list
    listed = [q.id for q in client.get(URL).context["page"].questions]
    assert questions["email"].pk not in listed


def test_adding_twice_is_refused_the_second_time(personas, questions, entry):
    alice = membership(personas, personas.alice)
    unanswered_add_as_variant(membership=alice, message_id=questions["web"].pk, entry_id=entry.pk)
    with pytest.raises(UnansweredError) as caught:
        unanswered_add_as_variant(
            membership=alice, message_id=questions["web"].pk, entry_id=entry.pk
        )
    assert caught.value.message == "Someone else has already handled this question."
    assert FaqEntry.objects.get(pk=entry.pk).question_list.count("Do you ship to Mars?") == 1


def test_an_entry_of_another_inbox_is_refused_and_nothing_changes(personas, login, questions):
    other = FaqEntry.objects.create(
        company=personas.company_a, inbox=personas.inbox_a2, questions="Pay?", answer="Card."
    )
    client = login(personas.alice)
    response = client.post(
        URL + "add/", {"message": questions["web"].pk, "entry": other.pk, "next": URL}, follow=True
    )
    assert "Choose an answer of this question&#x27;s inbox." in response.content.decode()
    assert Message.objects.get(pk=questions["web"].pk).bot_outcome == "not_understood"
    assert FaqEntry.objects.get(pk=other.pk).questions == "Pay?"


def test_bad_form_input_is_a_message_not_an_error(personas, login, questions):
    client = login(personas.alice)
    response = client.post(URL + "add/", {"message": "x"}, follow=True)
    assert response.status_code == 200
    assert "Choose an answer to add the question to." in response.content.decode()
    response = client.post(
        URL + "add/", {"message": questions["web"].pk, "entry": 1, "next": "https://evil.example/"}
    )
    assert response["Location"] == URL


@pytest.mark.parametrize("user", ["bob", "charlie"])
def test_only_admins_may_add_variants(personas, login, questions, entry, user):
    response = login(getattr(personas, user)).post(
        URL + "add/", {"message": questions["web"].pk, "entry": entry.pk}
    )
    assert response.status_code == 403
    assert Message.objects.get(pk=questions["web"].pk).bot_outcome == "not_understood"


def test_another_companys_admin_cannot_add_to_company_a(personas, login, questions, entry):
    response = login(personas.dave).post(
        URL + "add/", {"message": questions["web"].pk, "entry": entry.pk}
    )
    assert response.status_code == 404
    assert FaqEntry.objects.get(pk=entry.pk).questions == "Do you sell gift cards?"


def test_questions_go_with_their_conversation(personas, login, questions):
    questions["web"].conversation.delete()
    shown = [q.id for q in login(personas.alice).get(URL).context["page"].questions]
    assert questions["web"].pk not in shown and questions["shop"].pk in shown
