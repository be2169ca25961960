"""Company admins: the FAQ page of an inbox (import, export, "try the bot").

Every view is admin-only (admin_required: others get a 404) and resolves the
inbox through inbox_get_for_admin, so another company's inbox is a 404 too.
The "try the bot" text is typed by the admin: it is sent with POST (so it
never lands in a URL, an access log or the browser history), answered from
conversations.bot.decide and neither stored nor logged. Trying changes
nothing, so its POST re-renders the page (no redirect needed).
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import admin_required
from conversations import bot, faq_io
from conversations.models import Inbox
from conversations.selectors.inboxes import faq_entry_list, inbox_get_for_admin

TRY_MAX_LENGTH = 1000
# Bodies beyond this are refused unread (a file up to MAX_FILE_BYTES plus the form).
UPLOAD_BODY_HARD_CAP = 4 * faq_io.MAX_FILE_BYTES
KIND_LABELS = {
    "answer": gettext_lazy("Answers"),
    "suggest": gettext_lazy("Asks “Did you mean …?”"),
    "unknown": gettext_lazy("Does not understand"),
    "smalltalk": gettext_lazy("Small talk"),
    "handover": gettext_lazy("Hands over to a person"),
}


class TryForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("A visitor's message"),
        max_length=TRY_MAX_LENGTH,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": gettext_lazy("Type a message to try.")},
    )
    language = forms.ChoiceField(label=gettext_lazy("Visitor's language"), choices=())

    def __init__(self, *args, inbox: Inbox, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = settings.LANGUAGES
        self.fields["language"].initial = inbox.language


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("FAQ file (.json or .csv)"),
        error_messages={"required": gettext_lazy("Choose a file to import.")},
    )
    replace = forms.BooleanField(
        label=gettext_lazy("Replace all current answers"),
        required=False,
        help_text=gettext_lazy("Without this, the file's entries are added to the current ones."),
    )


class _UploadCap(FileUploadHandler):
    """Stops reading an uploaded file past faq_io.MAX_FILE_BYTES (it is skipped
    and the view says the file is too big): a huge upload never fills the disk."""

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > faq_io.MAX_FILE_BYTES:
            self.request.faq_upload_too_big = True
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _page(request: HttpRequest, inbox: Inbox, *, status: int = 200, **context) -> HttpResponse:
    company = request.membership.company
    context.setdefault("try_form", TryForm(inbox=inbox))
    context.setdefault("import_form", ImportForm())
    return render(
        request,
        "inboxes/faq_page.html",
        {
            "inbox": inbox,
            "entry_count": faq_entry_list(company=company, inbox=inbox).count(),
            "limits": {
                "mb": faq_io.MAX_FILE_BYTES // (1024 * 1024),
                "variants": faq_io.MAX_VARIANTS,
            },
            **context,
        },
        status=status,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def faq_page_view(request: HttpRequest, inbox_id: int) -> HttpResponse:
    """GET: the page. POST: the same page with what the bot would do with the typed text."""
    inbox = inbox_get_for_admin(company=request.membership.company, inbox_id=inbox_id)
    if request.method != "POST":
        return _page(request, inbox)
    form = TryForm(request.POST, inbox=inbox)
    if not form.is_valid():
        return _page(request, inbox, try_form=form, status=400)
    decision = bot.decide(
        inbox=inbox, text=form.cleaned_data["text"], language=form.cleaned_data["language"]
    )
    return _page(
        request,
        inbox,
        try_form=form,
        decision=decision,
        kind_label=KIND_LABELS.get(decision.kind, decision.kind),
        confidence_percent=round(decision.confidence * 100),
    )


@csrf_exempt
@admin_required
@require_POST
def faq_import_view(request: HttpRequest, inbox_id: int) -> HttpResponse:
    """The upload: the size cap goes in before the body is read, then CSRF is checked.

    FaultMiddleware lets this view's bodies past the site-wide 2.5 MB cap
    (caps_own_body); a file over faq_io.MAX_FILE_BYTES is read and dropped by
    _UploadCap and refused on the page; a body far beyond it is not read at all.
    """
    if _content_length(request) > UPLOAD_BODY_HARD_CAP:
        inbox = inbox_get_for_admin(company=request.membership.company, inbox_id=inbox_id)
        return _page(request, inbox, import_form=_too_big_form(), status=413)
    request.upload_handlers.insert(0, _UploadCap(request))
    return _faq_import(request, inbox_id)


faq_import_view.caps_own_body = True  # type: ignore[attr-defined]


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _too_big_form() -> ImportForm:
    """The import form with only the "too big" error on its file field."""
    form = ImportForm(data={})
    form.is_valid()
    form.errors.clear()
    form.add_error(
        "file",
        _("The file is too big: at most %(mb)d MB.")
        % {"mb": faq_io.MAX_FILE_BYTES // (1024 * 1024)},
    )
    return form


@csrf_protect
def _faq_import(request: HttpRequest, inbox_id: int) -> HttpResponse:
    inbox = inbox_get_for_admin(company=request.membership.company, inbox_id=inbox_id)
    form = ImportForm(request.POST, request.FILES)
    if getattr(request, "faq_upload_too_big", False):
        return _page(request, inbox, import_form=_too_big_form(), status=413)
    if not form.is_valid():
        return _page(request, inbox, import_form=form, status=400)
    upload = form.cleaned_data["file"]
    fmt = faq_io.format_for_name(upload.name)
    if fmt is None:
        form.add_error("file", _("Unknown file format: use a .json or .csv file."))
        return _page(request, inbox, import_form=form, status=400)
    try:
        result = faq_io.faq_import(
            inbox=inbox,
            data=upload.read(faq_io.MAX_FILE_BYTES + 1),
            fmt=fmt,
            replace=form.cleaned_data["replace"],
            actor=request.user,
        )
    except faq_io.FaqImportError as error:
        form.add_error("file", error.message)
        return _page(request, inbox, import_form=form, status=400)
    messages.success(
        request,
        _("Imported %(entries)d answers with %(variants)d questions.")
        % {"entries": result.entries, "variants": result.variants},
    )
    return redirect("inboxes:faq", inbox_id=inbox.pk)


@admin_required
@require_GET
def faq_export_view(request: HttpRequest, inbox_id: int) -> HttpResponse:
    """The FAQ as a file to download (?format=csv, else JSON); the export is audited."""
    inbox = inbox_get_for_admin(company=request.membership.company, inbox_id=inbox_id)
    fmt = faq_io.CSV if request.GET.get("format") == faq_io.CSV else faq_io.JSON
    body = faq_io.faq_download(inbox=inbox, fmt=fmt, actor=request.user)
    content_type = "text/csv; charset=utf-8" if fmt == faq_io.CSV else "application/json"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="faq-inbox-{inbox.pk}.{fmt}"'
    return response
