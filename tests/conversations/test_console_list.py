import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conversations.console_helpers import conversation_in
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db

LIST = "/console/conversations/"


def refs(response) -> list[str]:
    return re.findall(r'data-conversation="(\d+)"', response.content.decode())


def test_it_lists_only_conversations_of_inboxes_the_operators_teams_may_see(personas, login):
    mine = conversation_in(personas.inbox_a)
    not_granted = conversation_in(personas.inbox_a2)
    other_company = conversation_in(personas.inbox_b)
    response = login(personas.bob).get(LIST)
    assert response.status_code == 200
    assert refs(response) == [str(mine.pk)]
    assert not_granted.reference.encode() not in response.content
    assert other_company.reference.encode() not in response.content


def test_an_admin_sees_every_inbox_of_the_company_but_no_other_company(personas, login):
    a1 = conversation_in(personas.inbox_a, minutes_ago=2)
    a2 = conversation_in(personas.inbox_a2, minutes_ago=1)
    conversation_in(personas.inbox_b)
    response = login(personas.alice).get(LIST)
    assert refs(response) == [str(a2.pk), str(a1.pk)]


def test_it_orders_newest_activity_first_and_pages_by_keyset_without_gaps(personas, login):
    client = login(personas.alice)
    base = timezone.now()
    created = [
        ConversationFactory(
            inbox=personas.inbox_a if i % 2 else personas.inbox_a2,
            last_message_at=base - timedelta(minutes=i),
        )
        for i in range(7)
    ]
    # two conversations with the same timestamp: the id breaks the tie
    twin = ConversationFactory(inbox=personas.inbox_a, last_message_at=created[3].last_message_at)
    expected = [
        str(c.pk)
        for c in sorted(created + [twin], key=lambda c: (c.last_message_at, c.pk), reverse=True)
    ]
    seen: list[str] = []
    url = f"{LIST}?page_size=3"
    for _ in range(5):
        response = client.get(url)
        seen += refs(response)
        match = re.search(r'rel="next" href="\?([^"]+)"', response.content.decode())
        if not match:
            break
        assert "cursor=" in match.group(1)
        url = f"{LIST}?{match.group(1).replace('&amp;', '&')}"
    assert seen == expected


def test_a_malformed_cursor_shows_the_first_page(personas, login):
    c = conversation_in(personas.inbox_a)
    response = login(personas.alice).get(f"{LIST}?cursor=not-a-cursor!!")
    assert response.status_code == 200
    assert refs(response) == [str(c.pk)]


def test_it_filters_by_inbox_status_waiting_and_date_range(personas, login):
    client = login(personas.alice)
    waiting = conversation_in(personas.inbox_a, status="waiting", minutes_ago=1)
    bot = conversation_in(personas.inbox_a, status="bot", minutes_ago=2)
    shop = conversation_in(personas.inbox_a2, status="closed", minutes_ago=3)
    old = conversation_in(personas.inbox_a, status="bot", minutes_ago=60 * 24 * 10)
    assert refs(client.get(f"{LIST}?inbox={personas.inbox_a2.pk}")) == [str(shop.pk)]
    assert refs(client.get(f"{LIST}?status=bot")) == [str(bot.pk), str(old.pk)]
    assert refs(client.get(f"{LIST}?waiting=on")) == [str(waiting.pk)]
    since = (timezone.localdate() - timedelta(days=2)).isoformat()
    assert str(old.pk) not in refs(client.get(f"{LIST}?date_from={since}"))
    until = (timezone.localdate() - timedelta(days=5)).isoformat()
    assert refs(client.get(f"{LIST}?date_to={until}")) == [str(old.pk)]


def test_filtering_by_an_inbox_the_user_may_not_see_shows_nothing(personas, login):
    conversation_in(personas.inbox_a2)
    conversation_in(personas.inbox_a)
    response = login(personas.bob).get(f"{LIST}?inbox={personas.inbox_a2.pk}")
    assert response.status_code == 200
    assert refs(response) == []


def test_a_start_date_after_the_end_date_is_a_form_error(personas, login):
    response = login(personas.alice).get(f"{LIST}?date_from=2026-05-02&date_to=2026-05-01")
    assert response.status_code == 200
    assert b"must not be after" in response.content


def test_waiting_conversations_carry_a_badge_and_a_count(personas, login):
    conversation_in(personas.inbox_a, status="waiting")
    conversation_in(personas.inbox_a, status="waiting")
    conversation_in(personas.inbox_a2, status="waiting")  # bob may not see it
    response = login(personas.bob).get(LIST)
    html = response.content.decode()
    assert "2 waiting" in html
    rows = html.split("data-rows>")[1]
    assert rows.count('<span class="badge waiting">') == 2
    assert rows.count('<tr class="waiting"') == 2


def test_the_refresh_partial_returns_the_first_page_rows_with_new_activity(personas, login):
    client = login(personas.bob)
    first = conversation_in(personas.inbox_a, minutes_ago=5)
    partial_url = reverse("conversations:list_partial")
    assert refs(client.get(partial_url)) == [str(first.pk)]
    new = conversation_in(personas.inbox_a, status="waiting")
    response = client.get(partial_url)
    assert response.status_code == 200
    assert refs(response) == [str(new.pk), str(first.pk)]
    assert b'data-waiting-count="1"' in response.content
    assert b"<html" not in response.content


def test_the_list_page_polls_only_on_its_first_page(personas, login):
    conversation_in(personas.inbox_a)
    conversation_in(personas.inbox_a, minutes_ago=1)
    client = login(personas.bob)
    first = client.get(f"{LIST}?page_size=1").content.decode()
    assert "data-refresh=" in first and "console/console.js" in first
    cursor = re.search(r"cursor=([^\"&]+)", first).group(1)
    assert "data-refresh=" not in client.get(f"{LIST}?page_size=1&cursor={cursor}").content.decode()


def test_a_viewer_gets_a_read_only_list(personas, login):
    conversation_in(personas.inbox_a)
    response = login(personas.charlie).get(LIST)
    assert response.status_code == 200
    assert b"Read-only" in response.content
    assert b"Read-only" not in login(personas.bob).get(LIST).content


@pytest.mark.parametrize("page_size", [5, 50])
def test_the_list_page_runs_the_same_number_of_queries_whatever_the_page_size(
    personas, login, django_assert_num_queries, page_size
):
    for i in range(60):
        conversation_in(
            personas.inbox_a if i % 2 else personas.inbox_a2,
            status="waiting" if i % 3 == 0 else "operator",
            minutes_ago=i,
            assigned_to=personas.bob,
        )
    client = login(personas.bob)
    # session, user, membership, rights, inboxes for the filter, the page's keys,
    # the page's rows, the waiting count, and the base layout's company switcher
    with django_assert_num_queries(9):
        response = client.get(f"{LIST}?page_size={page_size}")
    assert len(refs(response)) == min(page_size, 30)


def test_the_list_query_uses_the_inbox_filter_and_no_offset(personas, login):
    conversation_in(personas.inbox_a)
    client = login(personas.bob)
    with CaptureQueriesContext(connection) as ctx:
        client.get(f"{LIST}?page_size=5")
    listing = [
        q["sql"]
        for q in ctx.captured_queries
        if 'FROM "conversations_conversation"' in q["sql"] and "ORDER BY" in q["sql"]
    ]
    assert listing, "the list query was not run"
    assert "OFFSET" not in listing[0].upper()
    assert '"company_id" =' in listing[0]
    assert '"inbox_id" IN' in listing[0] or '"inbox_id" =' in listing[0]


def test_operators_home_shows_waiting_conversations_first(personas, login):
    waiting = conversation_in(personas.inbox_a, status="waiting")
    response = login(personas.bob).get(reverse("accounts:home"))
    html = response.content.decode()
    assert "Waiting for a human" in html
    assert waiting.reference in html
    assert html.index("Waiting for a human") < html.index('class="grid"')


def test_viewers_home_shows_a_read_only_list_and_no_waiting_queue(personas, login):
    seen = conversation_in(personas.inbox_a, status="waiting")
    response = login(personas.charlie).get(reverse("accounts:home"))
    html = response.content.decode()
    assert "Recent conversations" in html and seen.reference in html
    assert 'id="waiting-h"' not in html


def test_the_waiting_badge_counts_only_up_to_a_cap(personas, login, monkeypatch):
    from conversations.selectors import console

    monkeypatch.setattr(console, "WAITING_COUNT_CAP", 3)
    for _ in range(4):
        conversation_in(personas.inbox_a, status="waiting")
    html = login(personas.bob).get(LIST).content.decode()
    assert "2+ waiting" in html
    assert console.waiting_label(2) == "2"
