"""Company admins: canned replies (list, create, edit, delete).

Admin-only (admin_required: operators and viewers get a 404, as if the pages
did not exist); another company's reply is a 404 too (canned_reply_get_for_admin).
Post/Redirect/Get: a successful POST redirects to the list; a refused one
re-renders the form with status 400 and what was typed.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.decorators import admin_required
from chatbot_site.lib.errors import form_add_error
from conversations.forms import CannedReplyForm
from conversations.selectors.canned import canned_reply_get_for_admin, canned_reply_list
from conversations.services.canned import (
    CannedReplyError,
    canned_reply_create,
    canned_reply_delete,
    canned_reply_update,
)


@admin_required
def canned_list_view(request: HttpRequest) -> HttpResponse:
    replies = list(canned_reply_list(company=request.membership.company))
    return render(request, "console/canned_list.html", {"replies": replies})


@admin_required
@require_http_methods(["GET", "POST"])
def canned_create_view(request: HttpRequest) -> HttpResponse:
    form = CannedReplyForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                canned_reply_create(membership=request.membership, **form.cleaned_data)
            except CannedReplyError as exc:
                form_add_error(form, exc)
            else:
                messages.success(request, _("Canned reply added."))
                return redirect("conversations:canned_list")
        return render(request, "console/canned_form.html", {"form": form}, status=400)
    return render(request, "console/canned_form.html", {"form": form})


@admin_required
@require_http_methods(["GET", "POST"])
def canned_edit_view(request: HttpRequest, canned_id: int) -> HttpResponse:
    canned = canned_reply_get_for_admin(company=request.membership.company, canned_id=canned_id)
    initial = {"shortcut": canned.shortcut, "text": canned.text}
    form = CannedReplyForm(request.POST or None, initial=initial)
    context = {"form": form, "canned": canned}
    if request.method == "POST":
        if form.is_valid():
            try:
                canned_reply_update(
                    membership=request.membership, canned=canned, **form.cleaned_data
                )
            except CannedReplyError as exc:
                form_add_error(form, exc)
            else:
                messages.success(request, _("Canned reply saved."))
                return redirect("conversations:canned_list")
        return render(request, "console/canned_form.html", context, status=400)
    return render(request, "console/canned_form.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def canned_delete_view(request: HttpRequest, canned_id: int) -> HttpResponse:
    canned = canned_reply_get_for_admin(company=request.membership.company, canned_id=canned_id)
    if request.method == "POST":
        canned_reply_delete(membership=request.membership, canned=canned)
        messages.success(request, _("Canned reply deleted."))
        return redirect("conversations:canned_list")
    return render(request, "console/canned_delete.html", {"canned": canned})
