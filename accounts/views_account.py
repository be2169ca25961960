"""The own account page (language and time, password, two-factor sign-in, sessions) and the company's security page.

Every signed-in member reaches /console/account/; the security page is for
admins. Recovery codes are rendered straight from the POST that made them and
never stored in plaintext, not even in the session: the page is the only
time they are shown (a reload asks to resubmit, which makes new ones or fails).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import preferences, sessions, twofactor
from accounts.account_forms import (
    CompanySecurityForm,
    LanguageSwitchForm,
    PasswordConfirmForm,
    StaffPreferenceForm,
    TotpConfirmForm,
)
from accounts.decorators import admin_required, membership_required
from accounts.user_audit import user_audit_event
from chatbot_site.lib.errors import form_add_error

member_required = membership_required()


def _preference_form(request: HttpRequest, data=None) -> StaffPreferenceForm:
    company = request.membership.company
    preference = preferences.staff_preference_get(user=request.user)
    return StaffPreferenceForm(
        data,
        initial={"language": preference.language, "timezone": preference.timezone},
        company_language=company.language,
        company_timezone=company.timezone,
    )


def _account_page(
    request: HttpRequest,
    *,
    password_form=None,
    remove_form=None,
    preference_form=None,
    status=200,
):
    user = request.user
    current_key = request.session.session_key
    if password_form is None:
        password_form = PasswordChangeForm(user)
        # Django focuses the old password; here it is one section of several.
        password_form.fields["old_password"].widget.attrs.pop("autofocus", None)
    rows = [
        {
            "row": row,
            "label": sessions.user_agent_label(row.user_agent),
            "current": row.session_key == current_key,
        }
        for row in sessions.staff_session_list(user=user)
    ]
    return render(
        request,
        "accounts/account.html",
        {
            "password_form": password_form,
            "preference_form": preference_form or _preference_form(request),
            "remove_form": remove_form or PasswordConfirmForm(),
            "has_2fa": twofactor.user_has_2fa(user),
            "codes_left": twofactor.recovery_codes_left(user=user),
            "required_2fa": twofactor.company_requires_2fa(user=user),
            "sessions": rows,
            "other_sessions": sum(1 for r in rows if not r["current"]),
        },
        status=status,
    )


@member_required
def account(request: HttpRequest) -> HttpResponse:
    return _account_page(request)


@member_required
@require_POST
def preferences_update(request: HttpRequest) -> HttpResponse:
    """Language and time zone of this person's console, on every device they use."""
    form = _preference_form(request, request.POST)
    if not form.is_valid():
        return _account_page(request, preference_form=form, status=400)
    preferences.staff_preference_set(
        user=request.user,
        language=form.cleaned_data["language"],
        timezone=form.cleaned_data["timezone"],
    )
    language = form.cleaned_data["language"] or request.membership.company.language
    with translation.override(language):  # the message shows on the next page, in this language
        messages.success(request, _("Your language and time zone were saved."))
    return redirect("accounts:account")


@member_required
@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """The navigation's language switch: saved for the person, back to the page they were on."""
    form = LanguageSwitchForm(request.POST)
    if form.is_valid():
        preferences.staff_preference_set(user=request.user, language=form.cleaned_data["language"])
        target = form.cleaned_data["next"]
        if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return redirect(target)
    return redirect("accounts:home")


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@member_required
@require_POST
def password_change(request: HttpRequest) -> HttpResponse:
    """Change the password; this session stays signed in, every other one ends."""
    form = PasswordChangeForm(request.user, request.POST)
    if not form.is_valid():
        return _account_page(request, password_form=form, status=400)
    old_key = request.session.session_key
    user = form.save()
    update_session_auth_hash(request, user)  # cycles this session's key
    sessions.staff_session_rekey(user=user, old_key=old_key, new_key=request.session.session_key)
    ended = sessions.end_sessions(user=user, keep_session_key=request.session.session_key)
    user_audit_event(user=user, actor=user, event="password.changed", sessions_ended=ended)
    messages.success(request, _("Your password was changed. Other sessions were signed out."))
    return redirect("accounts:account")


@member_required
@require_POST
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    ended = sessions.sessions_end_others(
        user=request.user, keep_session_key=request.session.session_key, reason="own"
    )
    if ended:
        messages.success(request, _("Signed out of %(count)d other sessions.") % {"count": ended})
    else:
        messages.info(request, _("There were no other sessions."))
    return redirect("accounts:account")


def _setup_page(request: HttpRequest, *, form=None, status=200) -> HttpResponse:
    try:
        setup = twofactor.totp_setup_get(user=request.user)
    except twofactor.TwoFactorError as exc:
        messages.info(request, exc.message)
        return redirect("accounts:account")
    return render(
        request,
        "accounts/twofactor_setup.html",
        {
            "setup": setup,
            "form": form or TotpConfirmForm(),
            "required_2fa": twofactor.company_requires_2fa(user=request.user),
        },
        status=status,
    )


@member_required
def twofactor_setup(request: HttpRequest) -> HttpResponse:
    """Show the QR code and secret; POST confirms with a code and shows recovery codes once."""
    if request.method != "POST":
        return _setup_page(request)
    form = TotpConfirmForm(request.POST)
    if not form.is_valid():
        return _setup_page(request, form=form, status=400)
    try:
        codes = twofactor.totp_confirm(user=request.user, token=form.cleaned_data["code"])
    except twofactor.TwoFactorError as exc:
        form_add_error(form, exc)
        return _setup_page(request, form=form, status=400)
    return _codes_page(request, codes=codes, just_enabled=True)


def _codes_page(request: HttpRequest, *, codes: list[str], just_enabled: bool) -> HttpResponse:
    return render(
        request,
        "accounts/twofactor_codes.html",
        {"codes": codes, "just_enabled": just_enabled},
    )


@member_required
@require_POST
def recovery_codes_regenerate(request: HttpRequest) -> HttpResponse:
    try:
        codes = twofactor.recovery_codes_regenerate(user=request.user)
    except twofactor.TwoFactorError as exc:
        messages.error(request, exc.message)
        return redirect("accounts:account")
    return _codes_page(request, codes=codes, just_enabled=False)


@sensitive_post_parameters("password")
@member_required
@require_POST
def twofactor_remove(request: HttpRequest) -> HttpResponse:
    form = PasswordConfirmForm(request.POST)
    if form.is_valid():
        try:
            twofactor.twofactor_remove(user=request.user, password=form.cleaned_data["password"])
        except twofactor.TwoFactorError as exc:
            form_add_error(form, exc, field="password")
        else:
            messages.success(request, _("Two-factor sign-in was removed."))
            return redirect("accounts:account")
    return _account_page(request, remove_form=form, status=400)


@admin_required
def security(request: HttpRequest) -> HttpResponse:
    """The company's sign-in rules: "2FA required for all staff"."""
    company = request.membership.company
    form = CompanySecurityForm(request.POST or None, initial={"require_2fa": company.require_2fa})
    if request.method == "POST" and form.is_valid():
        required = form.cleaned_data["require_2fa"]
        if twofactor.company_require_2fa_set(
            company=company, required=required, actor=request.user
        ):
            if required:
                messages.success(request, _("Two-factor sign-in is now required for all staff."))
            else:
                messages.success(request, _("Two-factor sign-in is no longer required."))
        return redirect("accounts:security")
    return render(
        request,
        "accounts/security.html",
        {
            "form": form,
            "company": company,
            "admin_has_2fa": twofactor.user_has_2fa(request.user),
            "idle_minutes": f"{settings.HAFEN_SESSION_IDLE_MINUTES:g}",
            "max_hours": f"{settings.HAFEN_SESSION_MAX_HOURS:g}",
        },
    )
