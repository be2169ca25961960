"""The unanswered-questions page: visitor messages the bot did not understand.

Every staff member sees those of the inboxes they may see (rights as in the
console), masked; only admins get "add as variant of …" (the service checks).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import membership_required
from accounts.models import Membership
from conversations.selectors.console import console_inboxes
from conversations.selectors.unanswered import faq_entries_by_inbox
from conversations.services.unanswered import (
    UnansweredError,
    unanswered_add_as_variant,
    unanswered_list,
)

staff_required = membership_required()


class UnansweredFilterForm(forms.Form):
    inbox = forms.TypedChoiceField(
        label=gettext_lazy("Inbox"), required=False, coerce=int, empty_value=None
    )
    before = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, inboxes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inbox"].choices = [("", gettext_lazy("All inboxes"))] + [
            (i.pk, i.name) for i in inboxes
        ]


class AddVariantForm(forms.Form):
    message = forms.IntegerField(min_value=1)
    entry = forms.IntegerField(
        min_value=1, error_messages={"required": gettext_lazy("Choose an answer.")}
    )
    next = forms.CharField(required=False, max_length=500)


@staff_required
@require_GET
def unanswered_list_view(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    inboxes = list(console_inboxes(membership=membership))
    form = UnansweredFilterForm(request.GET or None, inboxes=inboxes)
    inbox_id = before = None
    if form.is_bound and form.is_valid():
        inbox_id, before = form.cleaned_data["inbox"], form.cleaned_data["before"]
    elif form.is_bound and "inbox" in form.errors:
        inbox_id = -1  # an inbox this user may not see: nothing, not everything
    page = unanswered_list(membership=membership, inbox_id=inbox_id, before=before)
    is_admin = membership.role == Membership.Role.ADMIN
    entries = faq_entries_by_inbox(membership=membership, inboxes=inboxes) if is_admin else {}
    next_query = None
    if page.next_before:
        query = request.GET.copy()
        query["before"] = str(page.next_before)
        next_query = query.urlencode()
    return render(
        request,
        "inboxes/faq_unanswered.html",
        {
            "form": form,
            "page": page,
            "next_query": next_query,
            "is_first": before is None,
            "rows": [(q, entries.get(q.inbox.pk, [])) for q in page.questions],
            "can_add": is_admin,
            "inbox_id": inbox_id if inbox_id and inbox_id > 0 else None,
            "here": request.get_full_path(),
        },
    )


@staff_required
@require_POST
def unanswered_add_view(request: HttpRequest) -> HttpResponse:
    """Append a question (masked) to an entry, then back to the list (PRG)."""
    form = AddVariantForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    if not form.is_valid():
        messages.error(request, _("Choose an answer to add the question to."))
        return redirect(back or "conversations:unanswered")
    try:
        entry = unanswered_add_as_variant(
            membership=request.membership,
            message_id=form.cleaned_data["message"],
            entry_id=form.cleaned_data["entry"],
        )
    except UnansweredError as error:
        messages.error(request, error.message)
    else:
        questions = entry.question_list
        messages.success(
            request,
            _("Added as a question of “%(answer)s”.")
            % {"answer": questions[0] if questions else ""},
        )
    return redirect(back or "conversations:unanswered")
