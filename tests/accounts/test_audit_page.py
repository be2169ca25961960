import csv
import io
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import AuditFilters, audit_page
from chatbot_site.lib.audit import audit_access, audit_entries_for_company
from conversations.models import Conversation
from tests.conversations.console_helpers import conversation_in

pytestmark = pytest.mark.django_db

AUDIT = "/console/audit/"


def open_as(user, conversation, company):
    return audit_access(
        company_id=company.pk, actor=user, obj=conversation, event="conversation.open"
    )


def test_the_audit_page_shows_who_opened_what(personas, login):
    conversation = conversation_in(personas.inbox_a)
    login(personas.bob).get(
        reverse("conversations:detail", kwargs={"conversation_id": conversation.pk})
    )
    html = login(personas.alice).get(AUDIT).content.decode()
    assert "conversation.open" in html
    assert "bob" in html
    assert conversation.reference in html


def test_the_audit_page_never_shows_another_companys_entries(personas, login):
    b_conversation = conversation_in(personas.inbox_b)
    open_as(personas.dave, b_conversation, personas.company_b)
    html = login(personas.alice).get(AUDIT).content.decode()
    assert b_conversation.reference not in html
    assert "dave" not in html
    assert "Bravo" not in html


def test_it_filters_by_person_action_object_and_date(personas, login):
    c = conversation_in(personas.inbox_a)
    by_bob = open_as(personas.bob, c, personas.company_a)
    by_charlie = open_as(personas.charlie, c, personas.company_a)
    old = open_as(personas.charlie, c, personas.company_a)
    LogEntry.objects.filter(pk=old.pk).update(timestamp=timezone.now() - timedelta(days=40))
    client = login(personas.alice)

    def shown(query: str) -> set[int]:
        response = client.get(f"{AUDIT}?{query}")
        assert response.status_code == 200
        return {row["entry"].pk for row in response.context["rows"]}

    assert shown(f"actor={personas.bob.pk}") == {by_bob.pk}
    access = shown(f"action={LogEntry.Action.ACCESS}")
    assert {by_bob.pk, by_charlie.pk, old.pk} <= access
    assert all(e.action == LogEntry.Action.ACCESS for e in LogEntry.objects.filter(pk__in=access))
    ct = ContentType.objects.get_for_model(Conversation)
    assert shown(f"object_type={ct.pk}&action={LogEntry.Action.ACCESS}") == access
    since = (timezone.localdate() - timedelta(days=2)).isoformat()
    assert old.pk not in shown(f"date_from={since}")
    until = (timezone.localdate() - timedelta(days=30)).isoformat()
    assert shown(f"date_to={until}") == {old.pk}


def test_an_unknown_person_is_a_form_error(personas, login):
    response = login(personas.alice).get(f"{AUDIT}?actor={personas.dave.pk}")
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content


def test_pages_follow_a_keyset_cursor_without_repeats(personas):
    c = conversation_in(personas.inbox_a)
    for _ in range(5):
        open_as(personas.bob, c, personas.company_a)
    all_ids = list(
        audit_entries_for_company(personas.company_a.pk)
        .order_by("-timestamp", "-id")
        .values_list("id", flat=True)
    )
    seen, cursor = [], None
    while True:
        page = audit_page(
            company=personas.company_a, filters=AuditFilters(), cursor=cursor, page_size=3
        )
        seen += [e.pk for e in page.entries]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == all_ids


def test_the_csv_export_holds_the_filtered_entries_and_is_itself_audited(personas, login):
    c = conversation_in(personas.inbox_a)
    open_as(personas.bob, c, personas.company_a)
    open_as(personas.dave, conversation_in(personas.inbox_b), personas.company_b)
    response = login(personas.alice).get(
        f"{reverse('accounts:audit_export')}?action={LogEntry.Action.ACCESS}"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    # the export's own entry is written first, so it lists itself
    assert [(r["event"], r["actor"]) for r in rows] == [
        ("audit.export", "alice"),
        ("conversation.open", "bob"),
    ]
    [export] = [
        e
        for e in audit_entries_for_company(personas.company_a.pk)
        if e.additional_data.get("event") == "audit.export"
    ]
    assert export.actor_id == personas.alice.pk and export.action == LogEntry.Action.ACCESS


def test_changes_show_field_labels_and_values_only_where_no_text_can_be(personas, login):
    """A status reads "Status: old → new"; a text field (the greeting) shows its label only."""
    c = conversation_in(personas.inbox_a, status="waiting")
    c.status = "operator"
    c.save()
    personas.inbox_a.greeting = "Canary greeting 7f3a"
    personas.inbox_a.save()
    html = login(personas.alice).get(AUDIT).content.decode()
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    assert "Status: Waiting for a human → With an operator" in body
    assert "Greeting" in body and "Canary greeting 7f3a" not in body
    assert "Hello from Acme!" not in body


def test_the_csv_export_neutralises_cells_a_spreadsheet_would_run_as_formulas(personas, login):
    """A team name typed as a formula arrives in the CSV as text (OWASP: a leading ')."""
    from accounts.services import team_create_by

    for name in ('=HYPERLINK("http://x","y")', "@SUM(1+1)", "+1", "-2", "\tTab"):
        team_create_by(company=personas.company_a, name=name, actor=personas.alice)
    response = login(personas.alice).get(reverse("accounts:audit_export"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    cells = [cell for row in rows for cell in row.values() if cell]
    assert not [c for c in cells if c[0] in "=+-@\t\r"], cells
    reprs = {row["object"] for row in rows}
    assert '\'=HYPERLINK("http://x","y")' in reprs and "'@SUM(1+1)" in reprs
