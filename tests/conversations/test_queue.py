"""The queue you can triage (issue 13): previews, waiting time, unread counts,
views (mine / unassigned / waiting / bot / closed), longest-waiting first, and
the navigation's counters (/console/counts.json)."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from conversations.models import Conversation, Message
from conversations.selectors.console import PREVIEW_LENGTH
from conversations.services.operator import (
    conversation_open,
    conversation_read_advance,
    conversation_take_over,
)
from tests.conversations.chat_support import handover, post, start
from tests.conversations.console_helpers import conversation_in
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

LIST = "/console/conversations/"
COUNTS = "/console/counts.json"
CANARY_EMAIL = "canary.queue.7f3a@example.org"


def refs(response) -> list[str]:
    return re.findall(r'data-conversation="(\d+)"', response.content.decode())


def row_html(response, conversation) -> str:
    html = response.content.decode()
    start_at = html.index(f'data-conversation="{conversation.pk}"')
    return html[start_at : html.index("</tr>", start_at)]


def membership(user) -> Membership:
    return Membership.objects.select_related("company", "user").get(user=user)


def waiting_in(inbox, *, waited_minutes: int, activity_minutes: int = 0, **kwargs):
    return conversation_in(
        inbox,
        status="waiting",
        minutes_ago=activity_minutes,
        waiting_since=timezone.now() - timedelta(minutes=waited_minutes),
        **kwargs,
    )


# --- waiting_since and the read mark, written by the services ----------------


def test_asking_for_a_person_starts_the_waiting_clock_and_a_take_over_keeps_it(personas):
    api = Client()
    token = start(api, "acme-web").json()["token"]
    conversation = Conversation.objects.get(inbox=personas.inbox_a)
    assert conversation.status == "bot" and conversation.waiting_since is None
    before = timezone.now()
    assert handover(api, "acme-web", token).status_code == 200
    conversation.refresh_from_db()
    assert conversation.status == "waiting"
    assert conversation.waiting_since is not None and conversation.waiting_since >= before
    # the same write: the clock is the handover message's time
    assert conversation.waiting_since == conversation.last_message_at
    since = conversation.waiting_since
    post(api, "acme-web", token, "still there?")  # a message while waiting keeps the clock
    conversation.refresh_from_db()
    assert conversation.waiting_since == since
    conversation_take_over(membership=membership(personas.bob), conversation=conversation)
    conversation.refresh_from_db()
    assert conversation.status == "operator" and conversation.waiting_since == since


def test_a_message_the_bot_hands_over_starts_the_clock_in_the_same_write(personas):
    api = Client()
    token = start(api, "acme-web").json()["token"]
    # no FAQ in this inbox: asking for a person by message hands over
    post(api, "acme-web", token, "I want to talk to a human please")
    conversation = Conversation.objects.get(inbox=personas.inbox_a)
    assert conversation.status == "waiting"
    assert conversation.waiting_since == conversation.last_message_at


def test_the_assignee_reading_moves_the_read_mark_forward_only(personas):
    conversation = conversation_in(personas.inbox_a, status="operator", assigned_to=personas.bob)
    first = MessageFactory(conversation=conversation)
    second = MessageFactory(conversation=conversation)
    bob = membership(personas.bob)
    conversation_open(membership=bob, conversation=conversation)
    conversation.refresh_from_db()
    assert conversation.assignee_read_message_id == second.pk
    assert not conversation_read_advance(
        membership=bob, conversation=conversation, message_id=first.pk
    )
    conversation.refresh_from_db()
    assert conversation.assignee_read_message_id == second.pk


def test_someone_elses_read_does_not_move_the_assignees_mark(personas):
    conversation = conversation_in(personas.inbox_a, status="operator", assigned_to=personas.bob)
    MessageFactory(conversation=conversation)
    conversation_open(membership=membership(personas.alice), conversation=conversation)
    conversation.refresh_from_db()
    assert conversation.assignee_read_message_id is None


def test_a_new_assignee_starts_with_everything_unread(personas):
    conversation = conversation_in(personas.inbox_a, status="operator", assigned_to=personas.bob)
    message = MessageFactory(conversation=conversation)
    Conversation.objects.filter(pk=conversation.pk).update(assignee_read_message_id=message.pk)
    conversation.refresh_from_db()
    conversation_take_over(
        membership=membership(personas.alice),
        conversation=conversation,
        expected_assignee_id=personas.bob.pk,
    )
    conversation.refresh_from_db()
    assert conversation.assigned_to_id == personas.alice.pk
    assert conversation.assignee_read_message_id is None


# --- the rows ----------------------------------------------------------------


def test_a_row_shows_a_masked_preview_even_to_a_team_that_may_see_personal_data(personas, login):
    conversation = conversation_in(personas.inbox_a, status="waiting")
    # stored in clear because the visitor consented to give it
    MessageFactory(conversation=conversation, body=f"Please write to {CANARY_EMAIL} today")
    for user in (personas.charlie, personas.alice):
        response = login(user).get(LIST)
        row = row_html(response, conversation)
        assert CANARY_EMAIL not in response.content.decode()
        assert "canary.queue" not in row
        assert "Please write to" in row and "today" in row


def test_the_preview_is_the_last_message_cut_and_never_a_system_note(personas, login):
    conversation = conversation_in(personas.inbox_a)
    MessageFactory(conversation=conversation, body="an old question")
    MessageFactory(conversation=conversation, sender="bot", body="word " * 60)
    MessageFactory(conversation=conversation, sender="system", body="An operator joined.")
    row = row_html(login(personas.bob).get(LIST), conversation)
    preview = re.search(r'class="preview">(.*?)</div>', row, re.S).group(1)
    text = re.sub(r"<[^>]+>", "", preview).strip()
    assert text.startswith("Bot:") and "An operator joined" not in text
    assert text.endswith("…") and len(text.removeprefix("Bot:").strip()) <= PREVIEW_LENGTH


def test_a_waiting_row_says_how_long_it_has_waited(personas, login):
    conversation = waiting_in(personas.inbox_a, waited_minutes=42)
    row = row_html(login(personas.bob).get(LIST), conversation)
    assert re.search(r'<time class="waited" datetime="[^"]+">for 42\xa0minutes</time>', row)


def test_the_unread_count_is_the_visitor_messages_after_the_assignees_read_mark(personas, login):
    conversation = conversation_in(personas.inbox_a, status="operator", assigned_to=personas.bob)
    seen = MessageFactory(conversation=conversation)
    Conversation.objects.filter(pk=conversation.pk).update(assignee_read_message_id=seen.pk)
    for _ in range(3):
        MessageFactory(conversation=conversation)
    MessageFactory(conversation=conversation, sender="operator")  # not unread
    client = login(personas.bob)
    assert "3 unread" in row_html(client.get(LIST), conversation)
    conversation.refresh_from_db()
    client.get(reverse("conversations:detail", kwargs={"conversation_id": conversation.pk}))
    assert "unread" not in row_html(client.get(LIST), conversation)


def test_an_unassigned_conversation_shows_no_unread_count(personas, login):
    conversation = conversation_in(personas.inbox_a, status="waiting")
    MessageFactory(conversation=conversation)
    assert "unread" not in row_html(login(personas.bob).get(LIST), conversation)


# --- views and order -----------------------------------------------------------


@pytest.fixture
def queue(personas):
    return {
        "mine": conversation_in(
            personas.inbox_a, status="operator", assigned_to=personas.bob, minutes_ago=1
        ),
        "alices": conversation_in(
            personas.inbox_a, status="operator", assigned_to=personas.alice, minutes_ago=2
        ),
        "waiting": waiting_in(personas.inbox_a, waited_minutes=5, activity_minutes=3),
        "bot": conversation_in(personas.inbox_a, status="bot", minutes_ago=4),
        "closed": conversation_in(
            personas.inbox_a, status="closed", assigned_to=personas.bob, minutes_ago=5
        ),
        "orphan": conversation_in(personas.inbox_a, status="operator", minutes_ago=6),
        "shop": waiting_in(personas.inbox_a2, waited_minutes=1),
    }


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("mine", ["mine"]),
        ("unassigned", ["waiting", "orphan"]),
        ("waiting", ["waiting"]),
        ("bot", ["bot"]),
        ("closed", ["closed"]),
        ("", ["mine", "alices", "waiting", "bot", "closed", "orphan"]),
    ],
)
def test_each_view_lists_its_conversations_of_the_visible_inboxes(
    personas, login, queue, view, expected
):
    response = login(personas.bob).get(f"{LIST}?view={view}")
    assert response.status_code == 200
    assert refs(response) == [str(queue[name].pk) for name in expected]


def test_views_combine_with_the_inbox_filter(personas, login, queue):
    client = login(personas.alice)
    assert refs(client.get(f"{LIST}?view=waiting&inbox={personas.inbox_a2.pk}")) == [
        str(queue["shop"].pk)
    ]
    both = refs(client.get(f"{LIST}?view=waiting"))
    assert set(both) == {str(queue["shop"].pk), str(queue["waiting"].pk)}


def test_an_unknown_view_is_a_clear_message_and_lists_everything(personas, login, queue):
    response = login(personas.bob).get(f"{LIST}?view=everything")
    assert response.status_code == 200
    assert b"Unknown view" in response.content
    assert len(refs(response)) == 6


def test_the_tabs_keep_the_other_filters_and_mark_the_current_view(personas, login):
    html = login(personas.alice).get(f"{LIST}?view=mine&inbox={personas.inbox_a.pk}").content
    html = html.decode()
    assert f'href="?inbox={personas.inbox_a.pk}&amp;view=waiting"' in html
    assert re.search(r'<a href="\?[^"]*view=mine"[^>]*aria-current="page"', html)


def test_waiting_conversations_are_listed_longest_waiting_first_across_pages(personas, login):
    base = timezone.now()
    made = []
    for i, waited in enumerate([7, 30, 2, 30, 15, 60, 1]):
        made.append(
            conversation_in(
                personas.inbox_a if i % 2 else personas.inbox_a2,
                status="waiting",
                minutes_ago=i,  # activity order differs from waiting order
                waiting_since=base - timedelta(minutes=waited),
            )
        )
    # one from before waiting_since was written: it counts from its start
    legacy = conversation_in(personas.inbox_a, status="waiting")
    Conversation.objects.filter(pk=legacy.pk).update(started_at=base - timedelta(minutes=45))
    waited = {c.pk: c.waiting_since for c in made}
    waited[legacy.pk] = base - timedelta(minutes=45)
    expected = [str(pk) for pk, _ in sorted(waited.items(), key=lambda kv: (kv[1], kv[0]))]
    client = login(personas.alice)
    for query in ("view=waiting", "waiting=on", "status=waiting"):
        seen, url = [], f"{LIST}?{query}&page_size=3"
        for _ in range(5):
            response = client.get(url)
            seen += refs(response)
            match = re.search(r'rel="next" href="\?([^"]+)"', response.content.decode())
            if not match:
                break
            url = f"{LIST}?{match.group(1).replace('&amp;', '&')}"
        assert seen == expected, query


def test_the_home_page_lists_the_longest_waiting_first(personas, login):
    recent = waiting_in(personas.inbox_a, waited_minutes=2, activity_minutes=50)
    longest = waiting_in(personas.inbox_a, waited_minutes=40, activity_minutes=0)
    html = login(personas.bob).get(reverse("accounts:home")).content.decode()
    assert html.index(longest.reference) < html.index(recent.reference)


@pytest.mark.parametrize("view", ["", "waiting", "mine"])
@pytest.mark.parametrize("page_size", [5, 40])
def test_the_queue_runs_the_same_number_of_queries_whatever_the_page_size(
    personas, login, django_assert_num_queries, view, page_size
):
    for i in range(45):
        c = conversation_in(
            personas.inbox_a,
            status="waiting" if i % 3 == 0 else "operator",
            minutes_ago=i,
            assigned_to=None if i % 3 == 0 else personas.bob,
            waiting_since=timezone.now() - timedelta(minutes=i),
        )
        MessageFactory(conversation=c, body=f"question {i} to {CANARY_EMAIL}")
    client = login(personas.bob)
    client.get(LIST)  # the first request after a login may write the session
    # session, user, membership, rights, inboxes for the filter, the page's keys,
    # the page's rows (previews and unread counts in the same query), the
    # waiting count, the base layout's company switcher
    with django_assert_num_queries(9):
        response = client.get(f"{LIST}?view={view}&page_size={page_size}")
    assert refs(response)
    assert CANARY_EMAIL not in response.content.decode()


# --- counters --------------------------------------------------------------------


def test_the_counts_cover_only_the_inboxes_the_user_may_see(personas, login, queue):
    data = login(personas.bob).get(COUNTS).json()
    # inbox_a: waiting 1; mine 1 (the closed one is not); unassigned: waiting + orphan
    assert data["waiting"] == 1 and data["mine"] == 1 and data["unassigned"] == 2
    assert data["serves"] == [personas.inbox_a.pk]
    admin = Client()
    admin.force_login(personas.alice)
    data = admin.get(COUNTS).json()
    assert data["waiting"] == 2 and data["mine"] == 1 and data["unassigned"] == 3
    viewer = Client()
    viewer.force_login(personas.charlie)
    data = viewer.get(COUNTS).json()
    assert data["waiting"] == 1 and data["serves"] == []


def test_another_companys_admin_counts_nothing_of_company_a(personas, login, queue):
    data = login(personas.dave).get(COUNTS).json()
    assert data == {"waiting": 0, "mine": 0, "unassigned": 0, "serves": [personas.inbox_b.pk]}


def test_the_counts_need_a_login_and_are_not_cached(personas, client):
    response = client.get(COUNTS)
    assert response.status_code == 302 and "/login" in response["Location"]
    client.force_login(personas.bob)
    response = client.get(COUNTS)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert client.post(COUNTS).status_code == 405


def test_the_counts_are_capped(personas, login, monkeypatch):
    from conversations.selectors import console

    monkeypatch.setattr(console, "WAITING_COUNT_CAP", 3)
    for _ in range(5):
        conversation_in(personas.inbox_a, status="waiting")
    assert login(personas.bob).get(COUNTS).json()["waiting"] == 3


def test_every_console_page_carries_the_live_counters(personas, login):
    client = login(personas.alice)
    for url in (reverse("accounts:home"), LIST, reverse("accounts:audit")):
        html = client.get(url).content.decode()
        assert 'data-counts-url="/console/counts.json"' in html, url
        assert "console/nav_live.js" in html and "console/socket.js" in html


def test_no_message_text_is_in_the_counts(personas, login):
    c = conversation_in(personas.inbox_a, status="waiting")
    MessageFactory(conversation=c, body=f"mail {CANARY_EMAIL}", sender=Message.Sender.VISITOR)
    assert CANARY_EMAIL not in login(personas.bob).get(COUNTS).content.decode()


def test_new_messages_fetched_by_the_assignees_open_page_are_read(personas, login):
    conversation = conversation_in(personas.inbox_a, status="operator", assigned_to=personas.bob)
    seen = MessageFactory(conversation=conversation)
    Conversation.objects.filter(pk=conversation.pk).update(assignee_read_message_id=seen.pk)
    new = MessageFactory(conversation=conversation)
    live = reverse("conversations:live", kwargs={"conversation_id": conversation.pk})
    client = login(personas.bob)
    assert "1 unread" in row_html(client.get(LIST), conversation)
    assert client.get(f"{live}?after={seen.pk}").status_code == 200
    conversation.refresh_from_db()
    assert conversation.assignee_read_message_id == new.pk
    assert "unread" not in row_html(client.get(LIST), conversation)
