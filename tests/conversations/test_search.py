"""Console search: the keyed word index, reference and e-mail search, rights, reindexing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Membership
from chatbot_site.lib.crypto import blind_index
from consent.services.visitors import contact_details_withdraw
from conversations import search
from conversations.models import Conversation, Message, SearchToken, Visitor
from retention.models import RetentionPolicy
from retention.services.policy import policy_get_or_create
from retention.services.purge import retention_run
from tests.canary import raw_table_text
from tests.conversations.chat_support import post, start
from tests.conversations.console_helpers import conversation_in
from tests.factories import MessageFactory
from tests.retention.helpers import make_conversation

pytestmark = pytest.mark.django_db

CANARY_WORD = "Zwiebelkuchenrechnung"  # a word no table may hold in plaintext


def membership(personas, user):
    return Membership.objects.get(user=user, company=personas.company_a)


def found(personas, user, query):
    result = search.conversation_search(membership=membership(personas, user), query=query)
    return {c.pk for c in result.conversations}


def visitor_says(client, key, text) -> Conversation:
    token = start(client, key).json()["token"]
    response = post(client, key, token, text)
    assert response.status_code in (200, 201), response.content
    return Conversation.objects.latest("id")


def test_words_are_normalised_split_on_non_letters_and_short_ones_dropped():
    assert search.words("Rechnung, RECHNUNG! ﬁle Straße a 42 x-y_z é") == [
        "rechnung",
        "file",
        "strasse",
        "42",
    ]
    # NFKC: the full-width and the composed forms are the same word
    assert search.words("Ｒｅｃｈｎｕｎｇ") == ["rechnung"]
    assert search.words("Cafe\u0301") == search.words("Café")


def test_the_same_word_gives_different_tokens_in_different_companies(personas):
    a = search.tokens_for(company_id=personas.company_a.pk, text="Rechnung")
    b = search.tokens_for(company_id=personas.company_b.pk, text="Rechnung")
    assert len(a[0]) == search.TOKEN_LENGTH and a != b
    assert a == search.tokens_for(company_id=personas.company_a.pk, text="rechnung!")


def test_a_visitors_word_is_found_and_no_table_holds_it_in_plaintext(client, personas, login):
    conversation = visitor_says(client, "acme-web", f"Frage zur {CANARY_WORD} vom Mai")
    other = visitor_says(client, "acme-web", "Something else entirely")
    # the operator's reply is indexed too
    assert (
        login(personas.bob)
        .post(f"/console/conversations/{conversation.pk}/reply/", {"text": "Ihre Gutschrift kommt"})
        .status_code
        == 302
    )
    assert found(personas, personas.bob, CANARY_WORD.lower()) == {conversation.pk}
    assert found(personas, personas.bob, "gutschrift") == {conversation.pk}
    assert other.pk not in found(personas, personas.bob, CANARY_WORD)
    assert SearchToken.objects.filter(conversation=conversation).exists()
    dump = raw_table_text()
    assert CANARY_WORD not in dump and CANARY_WORD.lower() not in dump
    assert "Gutschrift" not in dump and "gutschrift" not in dump


def test_all_words_must_match(client, personas):
    both = visitor_says(client, "acme-web", "Rechnung und Lieferung")
    one = visitor_says(client, "acme-web", "nur die Rechnung")
    assert found(personas, personas.alice, "Rechnung") == {both.pk, one.pk}
    assert found(personas, personas.alice, "rechnung lieferung") == {both.pk}
    assert found(personas, personas.alice, "rechnung storno") == set()


def test_a_repeated_post_with_the_same_client_key_indexes_once(client, personas):
    token = start(client, "acme-web").json()["token"]
    for _ in range(2):
        response = client.post(
            "/api/chat/acme-web/messages",
            data={"text": "Wiederholung bitte", "client_key": "key-0001"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code in (200, 201), response.content
    conversation = Conversation.objects.get()
    assert Message.objects.filter(conversation=conversation, sender="visitor").count() == 1
    tokens = list(SearchToken.objects.filter(conversation=conversation).values_list("token"))
    assert len(tokens) == len(set(tokens)) >= 2


def test_an_operator_finds_nothing_in_an_inbox_they_cannot_see(client, personas):
    shop = visitor_says(client, "acme-shop", "Lieferadresse falsch")
    web = visitor_says(client, "acme-web", "Lieferadresse richtig")
    assert found(personas, personas.alice, "lieferadresse") == {shop.pk, web.pk}
    assert found(personas, personas.bob, "lieferadresse") == {web.pk}
    assert found(personas, personas.bob, shop.reference) == set()
    # another company's admin finds nothing of company A, even with the same words
    dave = Membership.objects.get(user=personas.dave)
    result = search.conversation_search(membership=dave, query="lieferadresse")
    assert result.conversations == []


def test_a_reference_finds_its_conversation_case_ignored(personas):
    conversation = conversation_in(personas.inbox_a)
    assert found(personas, personas.bob, conversation.reference.lower()) == {conversation.pk}
    result = search.conversation_search(
        membership=membership(personas, personas.bob), query=conversation.reference
    )
    assert result.kind == "reference"


def test_a_contact_email_finds_the_visitors_conversations_through_the_blind_index(personas):
    conversation = conversation_in(personas.inbox_a)
    Visitor.objects.filter(pk=conversation.visitor_id).update(
        email="erika@example.org", email_index=blind_index("erika@example.org")
    )
    conversation_in(personas.inbox_a)  # someone else
    assert found(personas, personas.alice, " Erika@Example.org ") == {conversation.pk}
    assert found(personas, personas.alice, "nobody@example.org") == set()


def test_stripping_personal_data_drops_its_words_from_the_index(personas):
    now = timezone.now()
    policy = policy_get_or_create(company=personas.company_a)
    RetentionPolicy.objects.filter(pk=policy.pk).update(conversation_days=90, personal_data_days=30)
    conversation = make_conversation(
        inbox=personas.inbox_a,
        now=now,
        age_days=45,
        bodies=("write to strip.me@example.com about the Zahnrad order",),
        messages=1,
    )
    search.conversation_reindex(conversation_id=conversation.pk)
    assert found(personas, personas.alice, "strip") == {conversation.pk}

    retention_run(company_id=personas.company_a.pk, now=now)

    assert found(personas, personas.alice, "strip") == set()
    assert found(personas, personas.alice, "example") == set()
    assert found(personas, personas.alice, "zahnrad order") == {conversation.pk}


def test_withdrawn_contact_details_leave_the_index_with_the_text(personas):
    conversation = conversation_in(personas.inbox_a, body="reach me at erika.w@example.org")
    search.conversation_reindex(conversation_id=conversation.pk)
    assert found(personas, personas.alice, "erika") == {conversation.pk}
    contact_details_withdraw(visitor=conversation.visitor)
    assert found(personas, personas.alice, "erika") == set()


def test_reindexing_keeps_visitor_and_operator_words_and_skips_the_bot(personas):
    conversation = conversation_in(personas.inbox_a, body="Visitorword here")
    MessageFactory(conversation=conversation, sender=Message.Sender.BOT, body="Botword")
    MessageFactory(
        conversation=conversation,
        sender=Message.Sender.OPERATOR,
        author=personas.bob,
        body="Operatorword",
    )
    search.conversation_reindex(conversation_id=conversation.pk)
    assert found(personas, personas.alice, "visitorword") == {conversation.pk}
    assert found(personas, personas.alice, "operatorword") == {conversation.pk}
    assert found(personas, personas.alice, "botword") == set()


def test_results_are_limited_and_say_so(personas):
    for _ in range(3):
        c = conversation_in(personas.inbox_a, body="Limitword", minutes_ago=5)
        search.conversation_reindex(conversation_id=c.pk)
    result = search.conversation_search(
        membership=membership(personas, personas.alice), query="limitword", limit=2
    )
    assert len(result.conversations) == 2 and result.limited


def test_the_search_page_lists_what_the_user_may_see(client, personas, login):
    web = visitor_says(client, "acme-web", "Kaffeemaschine kaputt")
    shop = visitor_says(client, "acme-shop", "Kaffeemaschine neu")
    page = login(personas.bob).get("/console/search/", {"q": "kaffeemaschine"})
    html = page.content.decode()
    assert page.status_code == 200
    assert web.reference in html and shop.reference not in html
    assert "1 conversation found" in html


def test_the_search_page_refuses_an_overlong_query_with_a_message(personas, login):
    page = login(personas.bob).get("/console/search/", {"q": "x" * 201})
    assert page.status_code == 400
    assert b"at most 200 characters" in page.content


def test_a_query_without_words_finds_nothing_and_says_why(personas, login):
    page = login(personas.bob).get("/console/search/", {"q": "a ! ?"})
    assert page.status_code == 200
    assert b"Type words of at least 2 letters or digits." in page.content


def test_old_conversations_are_found_too(personas):
    conversation = conversation_in(personas.inbox_a, body="Altwort", minutes_ago=60 * 24 * 400)
    search.conversation_reindex(conversation_id=conversation.pk)
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=timezone.now() - timedelta(days=400)
    )
    assert found(personas, personas.alice, "altwort") == {conversation.pk}
