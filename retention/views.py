"""Admin pages: retention policy and legal holds, erasure requests, access requests,
data-subject requests and their deadlines.

Erasure pages are open to admins and to operators who hold the erase right on
the visitor's inbox (conversations.rights, the one place that answers it).
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import admin_required, membership_required
from accounts.models import Membership
from chatbot_site.lib.crypto import DuplicateKey, json_loads_strict
from chatbot_site.lib.errors import ServiceError, form_add_error
from chatbot_site.lib.tenancy import get_for_company_or_404
from conversations.models import Visitor
from retention import selectors
from retention.forms import (
    ExtendRequestForm,
    FindSubjectForm,
    FulfilRequestForm,
    LegalHoldForm,
    RefuseRequestForm,
    RetentionPolicyForm,
    SubjectRequestForm,
    VerifyReceiptForm,
)
from retention.models import ErasureRequest, LegalHold
from retention.services.erasure import (
    ErasureError,
    erasure_execute,
    erasure_request_create,
)
from retention.services.export import visitor_export
from retention.services.holds import legal_hold_lift, legal_hold_place
from retention.services.policy import policy_get_or_create, policy_run_now, policy_update
from retention.services.receipts import receipt_read
from retention.services.requests import (
    SubjectRequestError,
    subject_request_create,
    subject_request_extend,
    subject_request_fulfil,
    subject_request_refuse,
    subject_request_wait_identity,
)

OPERATOR_ROLES = (Membership.Role.ADMIN, Membership.Role.OPERATOR)


# --------------------------------------------------------------------------- #
# Retention policy, runs and legal holds
# --------------------------------------------------------------------------- #


@admin_required
@require_http_methods(["GET", "POST"])
def policy(request: HttpRequest) -> HttpResponse:
    company = request.membership.company
    current = policy_get_or_create(company=company)
    preview = None
    form = RetentionPolicyForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        values = {k: form.cleaned_data[k] for k in RetentionPolicyForm.Meta.fields}
        if "preview" in request.POST:
            preview = selectors.retention_preview(
                company=company,
                conversation_days=values["conversation_days"],
                personal_data_days=values["personal_data_days"],
                audit_days=values["audit_days"],
                now=timezone.now(),
            )
        else:
            policy_update(policy=current, actor=request.user, **values)
            messages.success(request, _("Retention policy saved."))
            return redirect("retention:policy")
    current.refresh_from_db()
    return render(
        request,
        "retention/policy.html",
        {
            "form": form,
            "policy": current,
            "preview": preview,
            "runs": selectors.run_list(company=company),
            "holds": selectors.legal_hold_list_active(company=company),
            "hold_form": LegalHoldForm(),
        },
        # a refused save keeps what was typed (400); a preview is a read (200)
        status=400 if request.method == "POST" and not form.is_valid() else 200,
    )


@admin_required
@require_POST
def run_now(request: HttpRequest) -> HttpResponse:
    current = policy_get_or_create(company=request.membership.company)
    policy_run_now(policy=current, actor=request.user)
    messages.success(request, _("The deletion window runs now; refresh to see its summary."))
    return redirect("retention:policy")


@admin_required
@require_POST
def hold_place(request: HttpRequest) -> HttpResponse:
    company = request.membership.company
    form = LegalHoldForm(request.POST)
    if form.is_valid():
        conversation = selectors.conversation_get_by_reference(
            company=company, reference=form.cleaned_data["reference"]
        )
        if conversation is None:
            form.add_error("reference", _("No conversation of this company has that reference."))
        else:
            try:
                legal_hold_place(
                    conversation=conversation,
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except ServiceError as exc:
                form_add_error(form, exc)
            else:
                messages.success(
                    request,
                    _("Conversation %(ref)s is now under legal hold.")
                    % {"ref": conversation.reference},
                )
                return redirect("retention:policy")
    current = policy_get_or_create(company=company)
    return render(
        request,
        "retention/policy.html",
        {
            "form": RetentionPolicyForm(instance=current),
            "policy": current,
            "runs": selectors.run_list(company=company),
            "holds": selectors.legal_hold_list_active(company=company),
            "hold_form": form,
        },
        status=400,
    )


@admin_required
@require_POST
def hold_lift(request: HttpRequest, hold_id: int) -> HttpResponse:
    hold = get_for_company_or_404(
        LegalHold.objects.select_related("conversation"),
        company_id=request.membership.company_id,
        pk=hold_id,
    )
    legal_hold_lift(hold=hold, actor=request.user)
    messages.success(
        request,
        _("The legal hold on %(ref)s is lifted.") % {"ref": hold.conversation.reference},
    )
    return redirect("retention:policy")


# --------------------------------------------------------------------------- #
# Erasure requests
# --------------------------------------------------------------------------- #


@admin_required
@require_http_methods(["GET", "POST"])
def erasure_list(request: HttpRequest) -> HttpResponse:
    """Requests so far, and the search for a data subject (POST: values stay out of URLs)."""
    company = request.membership.company
    form = FindSubjectForm(request.POST or None)
    found = None
    if request.method == "POST" and form.is_valid():
        visitors = selectors.visitors_find(
            company=company, kind=form.cleaned_data["kind"], value=form.cleaned_data["value"]
        )
        found = [(v, selectors.erasure_preview(visitor=v)) for v in visitors]
        if not found:
            form.add_error("value", _("No visitor of this company matches."))
    return render(
        request,
        "retention/erasure_list.html",
        {
            "form": form,
            "found": found,
            "requests": selectors.erasure_request_list(company=company),
        },
    )


@admin_required
@require_POST
def erasure_create(request: HttpRequest) -> HttpResponse:
    company = request.membership.company
    visitor = get_for_company_or_404(
        Visitor.objects.all(), company_id=company.pk, pk=request.POST.get("visitor", "")
    )
    erasure = erasure_request_create(company=company, visitor=visitor, actor=request.user)
    return redirect("retention:erasure_detail", request_id=erasure.pk)


@membership_required(roles=OPERATOR_ROLES)
@require_http_methods(["GET", "POST"])
def erasure_start(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """From the console: open an erasure request for the visitor of this conversation."""
    membership = request.membership
    conversation = selectors.conversation_get_for_erasure(
        membership=membership, conversation_id=conversation_id
    )
    if request.method == "POST":
        erasure = erasure_request_create(
            company=membership.company,
            visitor=conversation.visitor,
            actor=request.user,
            membership=membership,
        )
        return redirect("retention:erasure_detail", request_id=erasure.pk)
    return render(
        request,
        "retention/erasure_start.html",
        {
            "conversation": conversation,
            "preview": selectors.erasure_preview(visitor=conversation.visitor),
        },
    )


def _visible_request(request: HttpRequest, request_id: int) -> ErasureRequest:
    return selectors.erasure_request_get_for_staff(
        membership=request.membership, request_id=request_id
    )


@membership_required(roles=OPERATOR_ROLES)
def erasure_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    erasure = _visible_request(request, request_id)
    preview = selectors.erasure_preview(visitor=erasure.visitor) if erasure.visitor else None
    return render(
        request,
        "retention/erasure_detail.html",
        {
            "erasure": erasure,
            "preview": preview,
            "receipt_json": json.dumps(erasure.receipt, indent=2) if erasure.receipt else "",
        },
    )


@membership_required(roles=OPERATOR_ROLES)
@require_POST
def erasure_confirm(request: HttpRequest, request_id: int) -> HttpResponse:
    erasure = _visible_request(request, request_id)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the box to confirm the erasure."))
        return redirect("retention:erasure_detail", request_id=erasure.pk)
    try:
        erasure_execute(request=erasure, actor=request.user, membership=request.membership)
    except ErasureError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The visitor's data is erased. The receipt is below."))
    return redirect("retention:erasure_detail", request_id=erasure.pk)


@membership_required(roles=OPERATOR_ROLES)
def erasure_receipt(request: HttpRequest, request_id: int) -> HttpResponse:
    erasure = _visible_request(request, request_id)
    if not erasure.receipt:
        raise Http404("No receipt yet.")
    response = JsonResponse(erasure.receipt, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = (
        f'attachment; filename="erasure-receipt-{erasure.company_id}-{erasure.pk}.json"'
    )
    return response


@membership_required(roles=OPERATOR_ROLES)
@require_http_methods(["GET", "POST"])
def receipt_verify_page(request: HttpRequest) -> HttpResponse:
    """Checks a receipt against this company's key; what it shows comes from the signed payload."""
    form = VerifyReceiptForm(request.POST or None, request.FILES or None)
    result = None
    check = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                document = json_loads_strict(form.cleaned_data["text"])
            except DuplicateKey:
                # The signature could cover a value the page does not show.
                form.add_error(None, _("A key appears twice: this is not a receipt as signed."))
                status = 400
            except ValueError:
                form.add_error(None, _("This is not JSON."))
                status = 400
            else:
                check = receipt_read(document, company_id=request.membership.company_id)
                result = check.valid
        else:
            status = 400
    return render(
        request,
        "retention/receipt_verify.html",
        {"form": form, "result": result, "check": check},
        status=status,
    )


# --------------------------------------------------------------------------- #
# Access requests
# --------------------------------------------------------------------------- #


@admin_required
def visitor_export_page(request: HttpRequest, visitor_id: int) -> HttpResponse:
    visitor = get_for_company_or_404(
        Visitor.objects.select_related("company"),
        company_id=request.membership.company_id,
        pk=visitor_id,
    )
    if request.GET.get("format") == "json":
        data = visitor_export(visitor=visitor, actor=request.user, output="json")
        response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
        response["Content-Disposition"] = (
            f'attachment; filename="visitor-export-{visitor.company_id}-{visitor.pk}.json"'
        )
        return response
    data = visitor_export(visitor=visitor, actor=request.user, output="html")
    return render(request, "retention/export.html", {"visitor": visitor, "data": data})


# --------------------------------------------------------------------------- #
# Data-subject requests (deadlines, Art. 12(3))
# --------------------------------------------------------------------------- #

REQUEST_ACTION_FORMS: dict[str, type[forms.Form]] = {
    "extend": ExtendRequestForm,
    "wait": forms.Form,
    "fulfil": FulfilRequestForm,
    "refuse": RefuseRequestForm,
}


@admin_required
def subject_request_list(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "open")
    if show not in selectors.SUBJECT_REQUEST_FILTERS:
        show = "open"
    return render(
        request,
        "retention/request_list.html",
        {
            "show": show,
            "requests": selectors.subject_request_list(
                company=request.membership.company, show=show, today=timezone.localdate()
            ),
            "due_soon_days": selectors.DUE_SOON_DAYS,
        },
    )


@admin_required
@require_http_methods(["GET", "POST"])
def subject_request_new(request: HttpRequest) -> HttpResponse:
    form = SubjectRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            filed = subject_request_create(membership=request.membership, **form.cleaned_data)
        except SubjectRequestError as exc:
            form_add_error(form, exc, field=exc.field if exc.field in form.fields else None)
        else:
            messages.success(
                request,
                _("Request #%(id)s filed; the answer is due on %(date)s.")
                % {"id": filed.pk, "date": formats.date_format(filed.due_on, "DATE_FORMAT")},
            )
            return redirect("retention:subject_request_detail", request_id=filed.pk)
    return render(
        request,
        "retention/request_new.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


def _request_detail(
    request: HttpRequest,
    subject_request,
    *,
    bound: tuple[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    action_forms = {name: form_class() for name, form_class in REQUEST_ACTION_FORMS.items()}
    if bound:
        action_forms[bound[0]] = bound[1]
    return render(
        request,
        "retention/request_detail.html",
        {"subject_request": subject_request, "forms": action_forms},
        status=status,
    )


@admin_required
def subject_request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    subject_request = selectors.subject_request_get(
        company=request.membership.company, request_id=request_id, today=timezone.localdate()
    )
    return _request_detail(request, subject_request)


@admin_required
@require_POST
def subject_request_act(request: HttpRequest, request_id: int, action: str) -> HttpResponse:
    """One action on a request (extend, wait, fulfil, refuse); a refusal re-renders the page."""
    membership = request.membership
    subject_request = selectors.subject_request_get(
        company=membership.company, request_id=request_id, today=timezone.localdate()
    )
    form = REQUEST_ACTION_FORMS[action](request.POST)
    if not form.is_valid():
        return _request_detail(request, subject_request, bound=(action, form), status=400)
    data = form.cleaned_data
    try:
        if action == "extend":
            subject_request_extend(
                membership=membership,
                request=subject_request,
                months=data["months"],
                reason=data["reason"],
            )
            done = _("The deadline is extended; tell the person why.")
        elif action == "wait":
            subject_request_wait_identity(membership=membership, request=subject_request)
            done = _("The request now waits for the person to prove who they are.")
        elif action == "refuse":
            subject_request_refuse(
                membership=membership, request=subject_request, reason=data["reason"]
            )
            done = _("The request is refused; tell the person why and that they may complain.")
        else:
            fulfilment = subject_request_fulfil(
                membership=membership, request=subject_request, note=data["note"]
            )
            done = _("The request is answered.")
            if fulfilment.export is not None:
                # The export is the answer: downloaded now (audited as visitor.export).
                messages.success(request, _("The request is answered with the export."))
                response = JsonResponse(
                    fulfilment.export, json_dumps_params={"indent": 2, "ensure_ascii": False}
                )
                response["Content-Disposition"] = (
                    "attachment; "
                    f'filename="access-request-{subject_request.company_id}-{subject_request.pk}.json"'
                )
                return response
    except (SubjectRequestError, ErasureError) as exc:
        form_add_error(form, exc, field=exc.field if exc.field in form.fields else None)
        subject_request.refresh_from_db()
        subject_request.days_left = (subject_request.deadline - timezone.localdate()).days
        return _request_detail(request, subject_request, bound=(action, form), status=exc.status)
    messages.success(request, done)
    return redirect("retention:subject_request_detail", request_id=subject_request.pk)
