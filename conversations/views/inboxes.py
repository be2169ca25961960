"""Company admins: inboxes (settings, widget snippet) and their FAQ bot entries.

Every view is admin-only (admin_required: others get a 404) and resolves the
inbox through inbox_get_for_admin, so another company's inbox is a 404 too.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.decorators import admin_required
from conversations.forms import FaqEntryForm, InboxForm
from conversations.selectors.inboxes import (
    faq_entry_get_for_admin,
    faq_entry_list,
    inbox_get_for_admin,
    inbox_list,
)
from conversations.services import inboxes as services
from conversations.views.chat import widget_snippet


@admin_required
def inbox_list_view(request: HttpRequest) -> HttpResponse:
    company = request.membership.company
    return render(request, "inboxes/list.html", {"inboxes": list(inbox_list(company=company))})


@admin_required
@require_http_methods(["GET", "POST"])
def inbox_create_view(request: HttpRequest) -> HttpResponse:
    company = request.membership.company
    form = InboxForm(request.POST or None, initial={"language": company.language})
    if request.method == "POST" and form.is_valid():
        inbox = services.inbox_create(company=company, **form.cleaned_data)
        messages.success(request, _("Inbox created."))
        return redirect("inboxes:edit", inbox_id=inbox.pk)
    # Post/Redirect/Get: only a refused POST gets here, with what was typed (400)
    return render(
        request,
        "inboxes/create.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def inbox_edit_view(request: HttpRequest, inbox_id: int) -> HttpResponse:
    company = request.membership.company
    inbox = inbox_get_for_admin(company=company, inbox_id=inbox_id)
    form = InboxForm(request.POST or None, instance=inbox)
    if request.method == "POST" and form.is_valid():
        services.inbox_update(inbox=inbox, **form.cleaned_data)
        messages.success(request, _("Settings saved."))
        return redirect("inboxes:edit", inbox_id=inbox.pk)
    return render(
        request,
        "inboxes/edit.html",
        {
            "inbox": inbox,
            "form": form,
            "entries": list(faq_entry_list(company=company, inbox=inbox)),
            "snippet": widget_snippet(request, inbox),
        },
        status=400 if request.method == "POST" else 200,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def faq_create_view(request: HttpRequest, inbox_id: int) -> HttpResponse:
    company = request.membership.company
    inbox = inbox_get_for_admin(company=company, inbox_id=inbox_id)
    form = FaqEntryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.faq_entry_create(inbox=inbox, **form.cleaned_data)
        messages.success(request, _("Answer added."))
        return redirect("inboxes:edit", inbox_id=inbox.pk)
    return render(
        request,
        "inboxes/faq_form.html",
        {"inbox": inbox, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def faq_edit_view(request: HttpRequest, inbox_id: int, entry_id: int) -> HttpResponse:
    company = request.membership.company
    inbox = inbox_get_for_admin(company=company, inbox_id=inbox_id)
    entry = faq_entry_get_for_admin(company=company, inbox=inbox, entry_id=entry_id)
    form = FaqEntryForm(request.POST or None, instance=entry)
    if request.method == "POST" and form.is_valid():
        services.faq_entry_update(entry=entry, **form.cleaned_data)
        messages.success(request, _("Answer saved."))
        return redirect("inboxes:edit", inbox_id=inbox.pk)
    return render(
        request,
        "inboxes/faq_form.html",
        {"inbox": inbox, "form": form, "entry": entry},
        status=400 if request.method == "POST" else 200,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def faq_delete_view(request: HttpRequest, inbox_id: int, entry_id: int) -> HttpResponse:
    company = request.membership.company
    inbox = inbox_get_for_admin(company=company, inbox_id=inbox_id)
    entry = faq_entry_get_for_admin(company=company, inbox=inbox, entry_id=entry_id)
    if request.method == "POST":
        services.faq_entry_delete(entry=entry)
        messages.success(request, _("Answer deleted."))
        return redirect("inboxes:edit", inbox_id=inbox.pk)
    return render(request, "inboxes/faq_delete.html", {"inbox": inbox, "entry": entry})
