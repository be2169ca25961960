"""Accounts pages: company switch, teams and their members, the audit log.

The console home, the rights matrix and deleting a team (which revokes the
team's rights on inboxes) live next to Inbox, in conversations.views.
"""

import csv

from auditlog.models import LogEntry
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import audit_labels, selectors, services
from accounts.decorators import admin_required
from accounts.forms import AuditFilterForm, CompanySwitchForm, TeamMemberForm, TeamNameForm
from accounts.middleware import SESSION_KEY
from chatbot_site.lib.audit import audit_access
from chatbot_site.lib.csvsafe import safe_row

# --- company switch, teams -------------------------------------------------


@login_required
@require_POST
def switch_company(request: HttpRequest) -> HttpResponse:
    form = CompanySwitchForm(request.POST, user=request.user)
    if form.is_valid():
        membership = form.cleaned_data["membership"]
        request.session[SESSION_KEY] = membership.company_id
        language = membership.company.language
        translation.activate(language)
    return redirect("accounts:home")


@admin_required
def team_list(request: HttpRequest) -> HttpResponse:
    company = request.membership.company
    form = TeamNameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create_by(
                company=company, name=form.cleaned_data["name"], actor=request.user
            )
        except services.TeamError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, _("Team “%(name)s” created.") % {"name": team.name})
            return redirect("accounts:team_detail", team_id=team.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "accounts/team_list.html",
        {"teams": selectors.team_list_with_counts(company=company), "form": form},
        status=status,
    )


def _team_page(request, team, *, rename_form=None, member_form=None, status=200):
    company = request.membership.company
    members = list(selectors.team_members(team=team))
    member_ids = {u.pk for u in members}
    candidates = [
        (m.user_id, f"{m.user.get_username()} ({m.get_role_display()})")
        for m in selectors.company_members(company=company)
        if m.user_id not in member_ids
    ]
    return render(
        request,
        "accounts/team_detail.html",
        {
            "team": team,
            "members": members,
            "rename_form": rename_form or TeamNameForm(initial={"name": team.name}),
            "member_form": member_form or TeamMemberForm(choices=candidates),
            "has_candidates": bool(candidates),
        },
        status=status,
    )


@admin_required
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    team = selectors.team_get(company=request.membership.company, team_id=team_id)
    if request.method == "POST":
        form = TeamNameForm(request.POST)
        if form.is_valid():
            try:
                services.team_rename(team=team, name=form.cleaned_data["name"], actor=request.user)
            except services.TeamError as exc:
                form.add_error("name", str(exc))
            else:
                messages.success(request, _("Team renamed."))
                return redirect("accounts:team_detail", team_id=team.pk)
        return _team_page(request, team, rename_form=form, status=400)
    return _team_page(request, team)


@admin_required
@require_POST
def team_member_add(request: HttpRequest, team_id: int) -> HttpResponse:
    company = request.membership.company
    team = selectors.team_get(company=company, team_id=team_id)
    choices = [
        (m.user_id, m.user.get_username()) for m in selectors.company_members(company=company)
    ]
    form = TeamMemberForm(request.POST, choices=choices)
    if not form.is_valid():
        return _team_page(request, team, member_form=form, status=400)
    user = selectors.company_member_user(company=company, user_id=form.cleaned_data["user"])
    try:
        services.team_member_add_by(team=team, user=user, actor=request.user)
    except services.TeamError as exc:
        form.add_error("user", str(exc))
        return _team_page(request, team, member_form=form, status=400)
    messages.success(request, _("Member added."))
    return redirect("accounts:team_detail", team_id=team.pk)


@admin_required
@require_POST
def team_member_remove(request: HttpRequest, team_id: int, user_id: int) -> HttpResponse:
    company = request.membership.company
    team = selectors.team_get(company=company, team_id=team_id)
    user = selectors.team_members(team=team).filter(pk=user_id).first()
    if user is None:
        raise Http404("No such member.")
    services.team_member_remove_by(team=team, user=user, actor=request.user)
    messages.success(request, _("Member removed."))
    return redirect("accounts:team_detail", team_id=team.pk)


def _audit_form(request: HttpRequest) -> tuple[AuditFilterForm, selectors.AuditFilters]:
    company = request.membership.company
    form = AuditFilterForm(
        request.GET or None,
        members=selectors.company_members(company=company, include_deactivated=True),
        content_types=selectors.audit_content_types(company=company),
    )
    filters = selectors.AuditFilters()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = selectors.AuditFilters(
            actor_id=data.get("actor"),
            action=data.get("action"),
            content_type_id=data.get("object_type"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
    return form, filters


# Machine codes of the actions in the CSV and in events of plain model changes
# ("conversation.update"): fixed English words, never translated.
_ACTION_CODES = {
    LogEntry.Action.CREATE: "create",
    LogEntry.Action.UPDATE: "update",
    LogEntry.Action.DELETE: "delete",
    LogEntry.Action.ACCESS: "access",
}


def _entry_row(entry) -> dict:
    """What the audit page and its CSV show of an entry: no values, only names and ids.

    "event" is the machine code (the CSV's), "event_label" its translation
    (accounts.audit_labels); the page shows only labels.
    """
    extra = dict(entry.additional_data or {})
    extra.pop("company_id", None)
    event = extra.pop("event", "") or f"{entry.content_type.model}.{_ACTION_CODES[entry.action]}"
    return {
        "entry": entry,
        "event": event,
        "event_label": audit_labels.event_label(entry, event),
        "action_label": audit_labels.action_label(entry.action),
        "actor": entry.actor.get_username() if entry.actor else _("system"),
        "object_type": audit_labels.model_label(entry.content_type),
        "object": audit_labels.object_label(entry),
        "fields": sorted((entry.changes_dict or {}).keys()),
        "changes": audit_labels.changes(entry),
        "details": sorted(extra.items()),
        "detail_labels": audit_labels.details(
            extra, entry.content_type.model_class() if entry.content_type_id else None
        ),
    }


@admin_required
def audit(request: HttpRequest) -> HttpResponse:
    company = request.membership.company
    form, filters = _audit_form(request)
    cursor = request.GET.get("cursor")
    page = selectors.audit_page(company=company, filters=filters, cursor=cursor)
    query = request.GET.copy()
    query.pop("cursor", None)
    base_query = query.urlencode()
    next_query = None
    if page.next_cursor:
        query["cursor"] = page.next_cursor
        next_query = query.urlencode()
    return render(
        request,
        "accounts/audit.html",
        {
            "form": form,
            "rows": [_entry_row(e) for e in page.entries],
            "next_query": next_query,
            "base_query": base_query,
            "is_first": not cursor,
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@admin_required
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered audit log as CSV; the export is itself an audit entry."""
    company = request.membership.company
    form, filters = _audit_form(request)
    audit_access(
        company_id=company.pk,
        actor=request.user,
        obj=company,
        event="audit.export",
        filters={k: str(v) for k, v in vars(filters).items() if v not in (None, "")},
    )
    writer = csv.writer(_Echo())
    header = [
        "time",
        "event",
        "event_label",
        "action",
        "actor",
        "object_type",
        "object_id",
        "object",
        "changed_fields",
        "details",
    ]

    def rows():
        yield writer.writerow(header)
        entries = selectors.audit_entries(company=company, filters=filters)
        for entry in entries.iterator(chunk_size=2000):
            row = _entry_row(entry)
            yield writer.writerow(
                safe_row(
                    [
                        entry.timestamp.isoformat(timespec="seconds"),
                        row["event"],
                        row["event_label"],
                        _ACTION_CODES[entry.action],
                        row["actor"],
                        row["object_type"],
                        entry.object_pk,
                        entry.object_repr,
                        " ".join(row["fields"]),
                        " ".join(f"{k}={v}" for k, v in row["details"]),
                    ]
                )
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{company.slug}.csv"'
    response["Cache-Control"] = "no-store"
    return response
