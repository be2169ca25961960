"""Sign-in in one or two steps, and sign-out.

Step 1 is Django's AuthenticationForm (username and password; the same answer
for a wrong password whether the account exists or not). A user with a
confirmed TOTP device is not signed in yet: the session keeps only the pending
user's id, name and a timestamp, and step 2 asks for a code from the app or a
recovery code within HAFEN_SIGNIN_PENDING_SECONDS. Every attempt, password or
code, first asks accounts.throttle whether this account and client may try at
all; a wrong password or code counts as a failed sign-in there.

Completing the sign-in (signin_complete) is where the session starts: Django's
login (a new session key), the idle/lifetime clocks, a StaffSession row and a
"signin.succeeded" audit entry in each company the person works for.
"""

from __future__ import annotations

import time

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import throttle
from accounts.account_forms import SecondFactorForm
from accounts.sessions import (
    EXPIRED_KEY,
    session_security_start,
    staff_session_end,
    staff_session_start,
)
from accounts.twofactor import VerifyResult, second_factor_verify, user_has_2fa
from accounts.user_audit import user_audit_event

PENDING_KEY = "hafen_signin_pending"


def _next_url(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _expired_message(reason: str | None) -> str | None:
    if reason == "idle":
        minutes = int(getattr(settings, "HAFEN_SESSION_IDLE_MINUTES", 30))
        return _("You were signed out after %(minutes)d minutes without activity.") % {
            "minutes": minutes
        }
    if reason == "lifetime":
        hours = getattr(settings, "HAFEN_SESSION_MAX_HOURS", 12)
        return _("You were signed out: a session lasts at most %(hours)s hours.") % {
            "hours": f"{hours:g}"
        }
    return None


def signin_complete(request: HttpRequest, user, *, username: str) -> None:
    """Sign `user` in on this request: session, clocks, StaffSession, throttle, audit."""
    request.session.pop(PENDING_KEY, None)
    auth_login(request, user, backend=getattr(user, "backend", None))
    session_security_start(request.session, now=time.time())
    request.session.save()  # the key the StaffSession row names must exist
    staff_session_start(
        user=user,
        session_key=request.session.session_key,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    throttle.succeeded(request, username)
    user_audit_event(
        user=user,
        actor=user,
        event="signin.succeeded",
        action=LogEntry.Action.ACCESS,
        two_factor=user_has_2fa(user),
    )


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login(request: HttpRequest) -> HttpResponse:
    """Step 1: username and password."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.user.is_authenticated and request.method != "POST":
        return redirect(_next_url(request, next_url))
    expired = _expired_message(request.session.pop(EXPIRED_KEY, None))
    if expired:
        messages.info(request, expired)
    form = AuthenticationForm(request, data=request.POST or None)
    status = 200
    if request.method == "POST":
        username = request.POST.get("username", "")
        try:
            throttle.check(request, username)
        except throttle.SignInThrottled as exc:
            form = AuthenticationForm(request, initial={"username": username[:150]})
            context = {"form": form, "next": next_url, "error": exc.message}
            response = render(request, "accounts/login.html", context, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        if form.is_valid():
            user = form.get_user()
            if user_has_2fa(user):
                request.session.cycle_key()
                request.session[PENDING_KEY] = {
                    "user_id": user.pk,
                    "username": username,
                    "backend": getattr(user, "backend", ""),
                    "at": time.time(),
                    "next": next_url,
                }
                return redirect("accounts:login_code")
            signin_complete(request, user, username=username)
            return redirect(_next_url(request, next_url))
        throttle.failed(request, username)
        status = 400
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=status)


def _pending_user(request: HttpRequest):
    """The user waiting for step 2, or None when there is none or it is too old."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None, None
    max_age = getattr(settings, "HAFEN_SIGNIN_PENDING_SECONDS", 300)
    if time.time() - float(pending.get("at", 0)) > max_age:
        request.session.pop(PENDING_KEY, None)
        return None, None
    user = (
        get_user_model()._default_manager.filter(pk=pending.get("user_id"), is_active=True).first()
    )
    if user is None:
        request.session.pop(PENDING_KEY, None)
        return None, None
    user.backend = pending.get("backend") or settings.AUTHENTICATION_BACKENDS[0]
    return user, pending


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_code(request: HttpRequest) -> HttpResponse:
    """Step 2: a code from the authenticator app, or one recovery code."""
    had_pending = PENDING_KEY in request.session
    user, pending = _pending_user(request)
    if user is None:
        if had_pending:
            messages.info(request, _("The sign-in took too long. Please sign in again."))
        return redirect("accounts:login")
    username = pending.get("username", "")
    form = SecondFactorForm(request.POST or None)
    status = 200
    if request.method == "POST":
        try:
            throttle.check(request, username)
        except throttle.SignInThrottled as exc:
            context = {"form": SecondFactorForm(), "error": exc.message}
            response = render(request, "accounts/login_code.html", context, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        if form.is_valid():
            result = second_factor_verify(user=user, code=form.cleaned_data["code"])
            if result == VerifyResult.OK:
                signin_complete(request, user, username=username)
                return redirect(_next_url(request, pending.get("next")))
            throttle.failed(request, username)
            if result == VerifyResult.DEVICE_THROTTLED:
                form.add_error(None, _("Too many wrong codes. Wait a moment and try again."))
            else:
                form.add_error(
                    "code",
                    _(
                        "That code is not right, or it was already used. Enter the current "
                        "code from your app, or an unused recovery code."
                    ),
                )
        status = 400
    return render(request, "accounts/login_code.html", {"form": form}, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """Sign out: the StaffSession row goes with the session."""
    staff_session_end(session_key=request.session.session_key)
    auth_logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)
