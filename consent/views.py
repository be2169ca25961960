"""Thin views: privacy notices (admins), contact requests (operators), a published
notice on the public site. The transparency page itself reads retention too, so
it lives with the site (chatbot_site.transparency)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import admin_required, membership_required
from accounts.models import Membership
from accounts.selectors import company_get_by_slug
from chatbot_site.lib.errors import NotAllowed
from chatbot_site.lib.tenancy import get_for_company_or_404
from consent import selectors, services
from consent.forms import ContactRequestForm, NoticeForm
from consent.models import PrivacyNotice
from consent.services import ConsentError
from conversations.models import Inbox
from conversations.selectors.console import conversation_get_for_console


def _notice_or_404(request: HttpRequest, version: int) -> PrivacyNotice:
    return get_for_company_or_404(
        PrivacyNotice.objects.all(), company_id=request.membership.company_id, version=version
    )


@admin_required
def notice_list(request: HttpRequest) -> HttpResponse:
    company = request.membership.company
    notices = selectors.notice_list(company_id=company.pk)
    return render(
        request,
        "consent/notice_list.html",
        {
            "notices": notices,
            "current": selectors.notice_current(company_id=company.pk),
            "draft": next((n for n in notices if not n.is_published), None),
            "inboxes": Inbox.objects.filter(company=company).order_by("name", "id"),
        },
    )


@admin_required
def notice_create(request: HttpRequest) -> HttpResponse:
    company = request.membership.company
    form = NoticeForm(request.POST or None, initial={"language": company.language})
    if request.method == "POST" and form.is_valid():
        try:
            notice = services.notice_create_draft(
                company=company, actor=request.user, **form.cleaned_data
            )
        except ConsentError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Draft version %(v)d saved.") % {"v": notice.version})
            return redirect("consent:notice_edit", version=notice.version)
    return render(
        request,
        "consent/notice_form.html",
        {"form": form, "notice": None},
        status=400 if request.method == "POST" else 200,
    )


@admin_required
def notice_edit(request: HttpRequest, version: int) -> HttpResponse:
    notice = _notice_or_404(request, version)
    if notice.is_published:
        # Published versions are read-only; the page offers "new version from this".
        return render(request, "consent/notice_form.html", {"form": None, "notice": notice})
    initial = {
        field: getattr(notice, field)
        for field in ("language", "title", "text", "translation_title", "translation_text")
    }
    form = NoticeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.notice_update_draft(notice=notice, actor=request.user, **form.cleaned_data)
        except ConsentError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Draft version %(v)d saved.") % {"v": notice.version})
            return redirect("consent:notice_edit", version=notice.version)
    return render(
        request,
        "consent/notice_form.html",
        {"form": form, "notice": notice},
        status=400 if request.method == "POST" else 200,
    )


@admin_required
def notice_preview(request: HttpRequest, version: int) -> HttpResponse:
    notice = _notice_or_404(request, version)
    languages = [notice.language]
    if notice.translation_title:
        languages.append(notice.translation_language)
    return render(
        request,
        "consent/notice_preview.html",
        {"notice": notice, "preview_languages": languages},
    )


@admin_required
@require_POST
def notice_publish(request: HttpRequest, version: int) -> HttpResponse:
    notice = _notice_or_404(request, version)
    try:
        services.notice_publish(notice=notice, actor=request.user)
    except ConsentError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Version %(v)d is published. Visitors of inboxes that require it accept it now.")
            % {"v": notice.version},
        )
    return redirect("consent:notice_list")


@admin_required
@require_POST
def notice_new_version(request: HttpRequest, version: int) -> HttpResponse:
    notice = _notice_or_404(request, version)
    try:
        draft = services.notice_new_version_from(notice=notice, actor=request.user)
    except ConsentError as exc:
        messages.error(request, exc.message)
        return redirect("consent:notice_list")
    messages.success(
        request,
        _("Draft version %(v)d created from version %(from)d.")
        % {"v": draft.version, "from": notice.version},
    )
    return redirect("consent:notice_edit", version=draft.version)


@admin_required
@require_POST
def notice_delete(request: HttpRequest, version: int) -> HttpResponse:
    notice = _notice_or_404(request, version)
    try:
        services.notice_delete_draft(notice=notice, actor=request.user)
    except ConsentError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Draft version %(v)d deleted.") % {"v": version})
    return redirect("consent:notice_list")


@admin_required
@require_POST
def notice_inboxes(request: HttpRequest) -> HttpResponse:
    """Switch "require acceptance" for every inbox of the company in one form."""
    company = request.membership.company
    wanted = set(request.POST.getlist("required"))
    for inbox in Inbox.objects.filter(company=company):
        required = str(inbox.pk) in wanted
        if inbox.notice_required != required:
            services.inbox_set_notice_required(inbox=inbox, required=required, actor=request.user)
    if wanted and selectors.notice_current(company_id=company.pk) is None:
        messages.warning(
            request,
            _("Saved. No notice is published yet: the chat stays open until you publish one."),
        )
    else:
        messages.success(request, _("Saved."))
    return redirect("consent:notice_list")


@membership_required(roles=[Membership.Role.ADMIN, Membership.Role.OPERATOR])
@require_POST
def contact_request_view(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """An operator asks the visitor for contact details, stating why."""
    conversation = conversation_get_for_console(
        membership=request.membership, conversation_id=conversation_id
    )
    form = ContactRequestForm(request.POST)
    valid = form.is_valid()
    try:
        # An invalid form still asks the service, with no purpose: it answers
        # the rights question first, then refuses the missing purpose before
        # writing anything.
        services.contact_request(
            membership=request.membership,
            conversation=conversation,
            purpose=form.cleaned_data["purpose"] if valid else "",
        )
    except NotAllowed:
        # Not the 403 page: a conversation whose contact details this operator may
        # not ask for is answered like one that does not exist (404).
        raise Http404("No such page.") from None
    except ConsentError as exc:
        if valid:
            messages.error(request, exc.message)
        else:
            messages.error(request, _("State the purpose the contact details are asked for."))
    else:
        messages.success(request, _("The visitor was asked for contact details."))
    return redirect("conversations:detail", conversation_id=conversation.pk)


def public_language(request: HttpRequest, company) -> str:
    """The language a public page is shown in: ?lang=de|en, else the company's."""
    wanted = request.GET.get("lang", "")
    return wanted if wanted in ("de", "en") else company.language


def public_render(request: HttpRequest, company, template: str, context: dict) -> HttpResponse:
    """A public page of `company`, rendered in its public language (public_language)."""
    language = public_language(request, company)
    with translation.override(language):
        request.LANGUAGE_CODE = language
        return render(request, template, {"company": company, "language": language, **context})


def transparency_notice(request: HttpRequest, slug: str, version: int) -> HttpResponse:
    """Public: one published version of the notice, as it was shown."""
    company = company_get_by_slug(slug=slug)
    if company is None:
        raise Http404("No such company.")
    notice = selectors.notice_published_version(company_id=company.pk, version=version)
    if notice is None:
        raise Http404("No such notice.")
    return public_render(request, company, "consent/transparency_notice.html", {"notice": notice})
