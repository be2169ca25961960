"""chatbot_site.lib.audit and chatbot_site.lib.pagination: the shared helpers themselves."""

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from guardian.shortcuts import assign_perm

from chatbot_site.lib.audit import save_audited
from chatbot_site.lib.pagination import decode_cursor, encode_cursor, keyset_page
from consent.models import ConsentRecord
from conversations.models import Conversation, Inbox, InboxGroupObjectPermission
from tests.conversations.console_helpers import conversation_in

pytestmark = pytest.mark.django_db


def entries_for(obj) -> list[LogEntry]:
    content_type = ContentType.objects.get_for_model(obj)
    return list(LogEntry.objects.filter(content_type=content_type, object_pk=str(obj.pk)))


def test_save_audited_inserts_with_one_named_entry_and_the_new_id(personas):
    visitor = conversation_in(personas.inbox_a).visitor
    record = ConsentRecord(
        company_id=visitor.company_id,
        visitor=visitor,
        purpose=ConsentRecord.Purpose.CONTACT,
        action=ConsentRecord.Action.GRANTED,
        purpose_text="call me back",
    )
    save_audited(
        record,
        actor=None,
        action=LogEntry.Action.CREATE,
        event="test.create",
        pk_as="consent_record_id",
        visitor_id=visitor.pk,
    )
    assert record.pk is not None
    [entry] = entries_for(record)
    assert entry.additional_data == {
        "company_id": personas.company_a.pk,
        "event": "test.create",
        "consent_record_id": record.pk,
        "visitor_id": visitor.pk,
    }
    assert entry.action == LogEntry.Action.CREATE and entry.actor is None


def test_save_audited_updates_only_the_named_fields_with_one_entry(personas):
    inbox = personas.inbox_a
    before = len(entries_for(inbox))
    inbox.notice_required = True
    inbox.name = "not saved"
    save_audited(
        inbox,
        update_fields=["notice_required"],
        actor=personas.alice,
        action=LogEntry.Action.UPDATE,
        event="test.update",
    )
    inbox.refresh_from_db()
    assert inbox.notice_required is True and inbox.name == "Web"
    entries = entries_for(inbox)
    assert len(entries) == before + 1
    newest = max(entries, key=lambda e: e.pk)
    assert newest.additional_data["event"] == "test.update"
    assert newest.actor == personas.alice


def test_company_audited_scopes_auditlogs_own_entries(personas):
    # a company's own row carries its id; a guardian grant made outside the
    # rights service carries the inbox's company (a dotted path)
    [company_entry] = entries_for(personas.company_b)
    assert company_entry.additional_data == {"company_id": personas.company_b.pk}
    assign_perm("conversations.erase_conversations", personas.support.group, personas.inbox_a2)
    grant = InboxGroupObjectPermission.objects.get(
        content_object=personas.inbox_a2, permission__codename="erase_conversations"
    )
    [grant_entry] = entries_for(grant)
    assert grant_entry.additional_data == {"company_id": personas.company_a.pk}
    assert Inbox(company_id=personas.company_b.pk).get_additional_data() == {
        "company_id": personas.company_b.pk
    }


def test_a_cursor_round_trips_and_a_bad_one_is_the_first_page():
    at = timezone.now()
    assert decode_cursor(encode_cursor(at, 42)) == (at, 42)
    for bad in ("", None, "!!!", encode_cursor(at, 1)[:-3] + "zz", "bm9waXBl"):
        assert decode_cursor(bad) is None


def test_keyset_pages_break_ties_by_id_and_never_repeat_a_row(personas):
    at = timezone.now()
    conversations = [conversation_in(personas.inbox_a) for _ in range(5)]
    # three share one timestamp: the page boundary falls inside the tie
    for i, c in enumerate(conversations):
        stamp = at if i < 3 else at - timedelta(minutes=i)
        Conversation.objects.filter(pk=c.pk).update(last_message_at=stamp)
    qs = Conversation.objects.filter(company=personas.company_a)
    seen, cursor, pages = [], None, 0
    while True:
        page = keyset_page(qs, field="last_message_at", cursor=cursor, page_size=2)
        assert page.is_first == (cursor is None)
        seen += [c.pk for c in page.rows]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = list(qs.order_by("-last_message_at", "-id").values_list("id", flat=True))
    assert seen == expected and pages == 3
