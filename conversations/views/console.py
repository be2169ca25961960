"""Operators' console views: thin, they parse, call a selector or service, render.

Every view resolves the conversation through conversation_get_for_console, so a
conversation of another company or of an inbox the user may not see is a 404.
Rights are checked by the services (conversations.services.operator); their
NotAllowed becomes the 403 page in chatbot_site.middleware.ServiceErrorMiddleware,
and a view only asks conversations.rights what to offer on the page.
"""

from __future__ import annotations

import json
import time

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import membership_required
from accounts.models import Membership
from chatbot_site.lib.errors import NotAllowed
from conversations.forms import ReplyForm, TakeOverForm
from conversations.models import Conversation
from conversations.rights import ERASE, PERSONAL_DATA, REPLY, inbox_ids, rights_on_inbox
from conversations.selectors.canned import canned_reply_choices
from conversations.selectors.console import (
    CLOSED,
    MINE,
    PAGE_SIZE,
    UNASSIGNED,
    WAITING,
    WITH_BOT,
    ConversationFilters,
    console_inboxes,
    conversation_counts,
    conversation_get_for_console,
    conversation_list,
    waiting_count,
    waiting_label,
)
from conversations.services.operator import (
    REASON_MAX_LENGTH,
    OperatorError,
    conversation_close,
    conversation_export,
    conversation_open,
    conversation_open_revealed,
    conversation_reply,
    conversation_take_over,
    personal_data_reveal,
)

staff_required = membership_required()


# The queue's tabs, in order: (value of ?view=, label); "" is every conversation.
QUEUE_VIEWS = [
    ("", _("All")),
    (MINE, _("Mine")),
    (UNASSIGNED, _("Unassigned")),
    (WAITING, _("Waiting")),
    (WITH_BOT, _("With the bot")),
    (CLOSED, _("Closed")),
]


class ConversationFilterForm(forms.Form):
    view = forms.ChoiceField(label=_("Show"), required=False, choices=QUEUE_VIEWS)
    inbox = forms.TypedChoiceField(label=_("Inbox"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=_("Status"), required=False)
    waiting = forms.BooleanField(label=_("Waiting for a human only"), required=False)
    date_from = forms.DateField(
        label=_("Active from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=_("Active until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    page_size = forms.IntegerField(required=False, min_value=1, max_value=100)
    cursor = forms.CharField(required=False, max_length=200)

    def __init__(self, *args, inboxes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inbox"].choices = [("", _("All inboxes"))] + [(i.pk, i.name) for i in inboxes]
        self.fields["status"].choices = [("", _("Any status"))] + list(Conversation.Status.choices)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date must not be after the end date."))
        return cleaned

    def filters(self) -> ConversationFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return ConversationFilters(
            inbox_id=data.get("inbox"),
            status=data.get("status") or None,
            waiting_only=bool(data.get("waiting")),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            view=data.get("view") or None,
        )


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for revealing personal data"),
        max_length=REASON_MAX_LENGTH,
        help_text=_("Logged in the audit log (personal data in it is removed)."),
        error_messages={"required": _("Give a reason for revealing personal data.")},
    )


def _list_context(request: HttpRequest) -> dict:
    membership = request.membership
    inboxes = list(console_inboxes(membership=membership))
    form = ConversationFilterForm(request.GET or None, inboxes=inboxes)
    if form.is_bound and not form.is_valid():
        filters = ConversationFilters(inbox_id=-1) if "inbox" in form.errors else form.filters()
    else:
        filters = form.filters()
    page_size = (form.cleaned_data.get("page_size") if form.is_bound else None) or PAGE_SIZE
    cursor = form.cleaned_data.get("cursor") if form.is_bound and form.is_valid() else None
    page = conversation_list(
        membership=membership, filters=filters, cursor=cursor, page_size=page_size
    )
    query = request.GET.copy()
    query.pop("cursor", None)
    next_query = None
    if page.next_cursor:
        query["cursor"] = page.next_cursor
        next_query = query.urlencode()
    base = request.GET.copy()
    base.pop("cursor", None)
    return {
        "form": form,
        "page": page,
        "next_query": next_query,
        "filter_query": base.urlencode(),
        "tabs": _queue_tabs(request, current=filters.view or ""),
        "longest_waiting_first": filters.longest_waiting_first,
        "waiting_count": waiting_label(waiting_count(membership=membership)),
        "read_only": not inbox_ids(membership=membership, right=REPLY),
    }


def _queue_tabs(request: HttpRequest, *, current: str) -> list[dict]:
    """One link per queue view, keeping the inbox and date filters (a view
    replaces the status filters; a tab starts at the first page)."""
    tabs = []
    for value, label in QUEUE_VIEWS:
        query = request.GET.copy()
        for key in ("cursor", "view", "status", "waiting"):
            query.pop(key, None)
        if value:
            query["view"] = value
        tabs.append({"label": label, "query": query.urlencode(), "active": value == current})
    return tabs


@staff_required
@require_GET
def conversation_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "console/conversation_list.html", _list_context(request))


@staff_required
@require_GET
def conversation_list_partial(request: HttpRequest) -> HttpResponse:
    """The first page's rows and the waiting count, fetched by console.js."""
    context = _list_context(request)
    return render(request, "console/_conversation_rows.html", context)


@staff_required
@require_GET
def conversation_counts_view(request: HttpRequest) -> JsonResponse:
    """The navigation's counters (nav_live.js): waiting, mine, unassigned over the
    inboxes the membership may see (each capped, see conversation_counts), and
    the inboxes it serves (may reply in), whose new waiting conversations notify.
    Counts and ids only."""
    membership: Membership = request.membership
    counts = conversation_counts(membership=membership)
    data = {**counts, "serves": sorted(inbox_ids(membership=membership, right=REPLY))}
    response = JsonResponse(data)
    response["Cache-Control"] = "no-store"
    return response


def _detail_context(
    request: HttpRequest, *, view, reply_form=None, reveal_form=None, error: str = ""
) -> dict:
    conversation = view.conversation
    rights = rights_on_inbox(membership=request.membership, inbox_id=conversation.inbox_id)
    erase_url = None
    if ERASE in rights:
        # retention's erasure flow, when that app provides it
        try:
            erase_url = reverse(
                "retention:erasure_start", kwargs={"conversation_id": conversation.pk}
            )
        except NoReverseMatch:
            erase_url = None
    can_reply = REPLY in rights
    return {
        "view": view,
        "conversation": conversation,
        "can_reply": can_reply,
        "can_reveal": PERSONAL_DATA in rights,
        "erase_url": erase_url,
        "reply_form": reply_form or (ReplyForm() if can_reply else None),
        "reveal_form": reveal_form or RevealForm(),
        "error": error,
        # what the reply box offers after "/" (static/console/reply_box.js)
        "canned_replies": canned_reply_choices(company=conversation.company) if can_reply else [],
    }


def _render_detail(request, conversation, *, status: int = 200, **kwargs) -> HttpResponse:
    view = kwargs.pop("view", None)
    if view is None:
        view = conversation_open(membership=request.membership, conversation=conversation)
    return render(
        request,
        "console/conversation_detail.html",
        _detail_context(request, view=view, **kwargs),
        status=status,
    )


# Post/Redirect/Get for a reveal: the POST logs the reason and leaves a one-time
# marker in the session (conversation id -> expiry); the detail page it
# redirects to consumes the marker and shows the data unmasked, once. A reload,
# or a visit after REVEAL_MARKER_SECONDS, shows it masked again. The marker
# holds ids and a time only, never personal data.
REVEAL_SESSION_KEY = "hafen.reveal_once"
REVEAL_MARKER_SECONDS = 600


def _reveal_marker_set(request: HttpRequest, conversation_id: int) -> None:
    now = time.time()
    markers = {
        key: expires
        for key, expires in request.session.get(REVEAL_SESSION_KEY, {}).items()
        if expires > now
    }
    markers[str(conversation_id)] = now + REVEAL_MARKER_SECONDS
    request.session[REVEAL_SESSION_KEY] = markers


def _reveal_marker_take(request: HttpRequest, conversation_id: int) -> bool:
    """Whether a reveal of this conversation is pending; consumes the marker."""
    markers = request.session.get(REVEAL_SESSION_KEY)
    if not markers or str(conversation_id) not in markers:
        return False
    expires = markers.pop(str(conversation_id))
    request.session[REVEAL_SESSION_KEY] = markers
    return expires > time.time()


@staff_required
@require_GET
def conversation_detail(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = conversation_get_for_console(
        membership=request.membership, conversation_id=conversation_id
    )
    if _reveal_marker_take(request, conversation.pk):
        try:
            view = conversation_open_revealed(
                membership=request.membership, conversation=conversation
            )
        except NotAllowed:
            pass  # the right was revoked since the reveal: the masked page, as for anyone
        else:
            response = _render_detail(request, conversation, view=view)
            response["Cache-Control"] = "no-store"
            return response
    return _render_detail(request, conversation)


@staff_required
@require_POST
def conversation_reveal(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Break glass: logs the reason, then redirects to the detail page, which shows
    the data unmasked once (see REVEAL_SESSION_KEY); a reload masks it again."""
    membership: Membership = request.membership
    conversation = conversation_get_for_console(
        membership=membership, conversation_id=conversation_id
    )
    form = RevealForm(request.POST)
    valid = form.is_valid()
    try:
        # An invalid form still asks the service, with no reason: it answers the
        # rights question first (403), then refuses the missing reason before
        # logging or revealing anything; the page shows the form's own errors.
        view = personal_data_reveal(
            membership=membership,
            conversation=conversation,
            reason=form.cleaned_data["reason"] if valid else "",
        )
    except OperatorError as exc:
        if valid:
            form.add_error("reason", str(exc))
        return _render_detail(request, conversation, status=400, reveal_form=form)
    del view  # shown by the detail page the redirect leads to
    _reveal_marker_set(request, conversation.pk)
    return redirect("conversations:detail", conversation_id=conversation.pk)


def _refused(request: HttpRequest, conversation_id: int, **kwargs) -> HttpResponse:
    """The detail page as the conversation is NOW (status, assignee: what a lost
    race changed), with the operator's message and their typed text, if any."""
    conversation = conversation_get_for_console(
        membership=request.membership, conversation_id=conversation_id
    )
    return _render_detail(request, conversation, status=409, **kwargs)


def _action(request: HttpRequest, conversation_id: int, service, **kwargs) -> HttpResponse:
    membership: Membership = request.membership
    conversation = conversation_get_for_console(
        membership=membership, conversation_id=conversation_id
    )
    try:
        service(membership=membership, conversation=conversation, **kwargs)
    except OperatorError as exc:
        return _refused(request, conversation_id, error=str(exc))
    return redirect("conversations:detail", conversation_id=conversation.pk)


def _reply_gone(request: HttpRequest, form: ReplyForm) -> HttpResponse:
    """The conversation is gone (its visitor was erased, retention deleted it) or no
    longer visible to this user: a plain page that keeps the typed reply, so it
    can be copied, instead of a bare 404. Says the same in both cases."""
    return render(
        request,
        "console/reply_gone.html",
        {"text": request.POST.get("text", "")[: form.fields["text"].max_length or None]},
        status=404,
    )


@staff_required
@require_POST
def conversation_reply_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    membership: Membership = request.membership
    form = ReplyForm(request.POST)
    try:
        conversation = conversation_get_for_console(
            membership=membership, conversation_id=conversation_id
        )
    except Http404:
        return _reply_gone(request, form)
    valid = form.is_valid()
    try:
        # An invalid form still asks the service, with no text: it answers the
        # rights question first (403), then refuses the empty text before
        # writing anything; the page shows the form's own errors (400).
        conversation_reply(
            membership=membership,
            conversation=conversation,
            text=form.cleaned_data["text"] if valid else "",
            expected_assignee_id=form.expected_assignee_id() if valid else None,
        )
    except OperatorError as exc:
        if not valid:
            return _render_detail(request, conversation, status=400, reply_form=form)
        # The form keeps the typed text; the page shows who has the conversation now.
        form.add_error("text", str(exc))
        try:
            return _refused(request, conversation_id, reply_form=form)
        except Http404:  # erased meanwhile
            return _reply_gone(request, form)
    return redirect("conversations:detail", conversation_id=conversation.pk)


@staff_required
@require_POST
def conversation_take_over_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    form = TakeOverForm(request.POST)
    if not form.is_valid():
        conversation = conversation_get_for_console(
            membership=request.membership, conversation_id=conversation_id
        )
        return _render_detail(
            request, conversation, status=400, error=_("Reload the page and try again.")
        )
    return _action(
        request,
        conversation_id,
        conversation_take_over,
        expected_assignee_id=form.expected_assignee_id(),
    )


@staff_required
@require_POST
def conversation_close_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _action(request, conversation_id, conversation_close)


@staff_required
@require_GET
def conversation_export_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = conversation_get_for_console(
        membership=request.membership, conversation_id=conversation_id
    )
    data = conversation_export(membership=request.membership, conversation=conversation)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="conversation-{conversation.reference}.json"'
    )
    response["Cache-Control"] = "no-store"
    return response
