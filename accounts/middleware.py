import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import SimpleLazyObject

from accounts import preferences, sessions
from accounts.selectors import membership_get
from accounts.twofactor import user_has_2fa

SESSION_KEY = "hafen_company_id"


class CurrentCompanyMiddleware:
    """Sets request.membership and request.company (lazily) for signed-in staff.

    The company comes from the session's choice (the company switcher) and falls
    back to the user's first membership. Anonymous users get None for both.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        def _membership():
            user = getattr(request, "user", None)
            if user is None or not user.is_authenticated:
                return None
            return membership_get(user=user, company_id=request.session.get(SESSION_KEY))

        cache: dict = {}

        def _cached():
            if "m" not in cache:
                cache["m"] = _membership()
            return cache["m"]

        request.get_membership = _cached
        request.company = SimpleLazyObject(lambda: _cached().company if _cached() else None)
        return self.get_response(request)


class SessionSecurityMiddleware:
    """Idle timeout and absolute lifetime of signed-in sessions (issue 12).

    The session holds when it signed in and when it was last active (Unix
    times). Past HAFEN_SESSION_IDLE_MINUTES of silence or HAFEN_SESSION_MAX_HOURS
    after sign-in the session is flushed and the request goes to the login
    page, which says why. /api/ (the visitors' chat) is left alone. Activity
    is written at most once a minute (session and StaffSession.last_seen_at),
    so a busy console does not write on every request. A session without the
    stamps (signed in before this existed, or by a test's force_login) starts
    its clocks now and gets its StaffSession row.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # No session cookie: nobody is signed in, and the session stays untouched
        # (no query, no "Vary: Cookie"). The API is for visitors: not looked at.
        session = getattr(request, "session", None)
        if (
            session is not None
            and session.session_key
            and not request.path_info.startswith("/api/")
            and request.user.is_authenticated
        ):
            expired = self._check(request)
            if expired is not None:
                return expired
        return self.get_response(request)

    def _check(self, request):
        session = request.session
        now = time.time()
        if session.get(sessions.STARTED_KEY) is None:
            sessions.session_security_start(session, now=now)
            if session.session_key:  # index it, so "sign out other sessions" reaches it
                sessions.staff_session_start(
                    user=request.user,
                    session_key=session.session_key,
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                )
            return None
        reason = sessions.session_expiry_reason(
            session,
            now=now,
            idle_seconds=float(settings.HAFEN_SESSION_IDLE_MINUTES) * 60,
            max_seconds=float(settings.HAFEN_SESSION_MAX_HOURS) * 3600,
        )
        if reason is not None:
            sessions.staff_session_end(session_key=session.session_key)
            logout(request)  # flushes the session: a new, anonymous one
            request.session[sessions.EXPIRED_KEY] = reason
            return redirect_to_login(request.get_full_path())
        if now - float(session.get(sessions.SEEN_KEY) or 0) >= sessions.TOUCH_EVERY_SECONDS:
            session[sessions.SEEN_KEY] = now
            if session.session_key:
                sessions.staff_session_touch(session_key=session.session_key)
        return None


class TwoFactorRequiredMiddleware:
    """Sends staff without 2FA to set-up where their current company requires it (issue 12).

    Only /console/ pages are guarded: the set-up page itself and the company
    switch stay reachable, and logout, the login pages, static files and the
    API live outside /console/.
    """

    ALLOWED_URL_NAMES = ("accounts:twofactor_setup", "accounts:switch_company")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/console/") and self._must_set_up(request):
            allowed = {reverse(name) for name in self.ALLOWED_URL_NAMES}
            if request.path_info not in allowed:
                return redirect("accounts:twofactor_setup")  # the page says why
        return self.get_response(request)

    @staticmethod
    def _must_set_up(request) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        membership = request.get_membership()
        if membership is None or not membership.company.require_2fa:
            return False
        return not user_has_2fa(user)


class StaffLocaleMiddleware:
    """Console pages in the member's language and time zone (issue 15).

    After CurrentCompanyMiddleware: the membership query (which already runs on
    every console page) carries the person's preferences, so this costs no
    query. Only /console/ is touched: visitors' pages keep choosing their
    language from the inbox and the browser. Language and time zone are put back
    after the response (a streamed one, the audit CSV, is written chunk by chunk
    in them), so neither leaks into the next request or task on this thread.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            not request.path_info.startswith("/console/")
            or user is None
            or not user.is_authenticated
        ):
            return self.get_response(request)
        membership = request.get_membership()
        if membership is None:
            return self.get_response(request)
        language = preferences.console_language(membership=membership, request=request)
        zone = preferences.console_timezone(membership=membership)
        request.LANGUAGE_CODE = language
        with translation.override(language), timezone.override(zone):
            response = self.get_response(request)
        if response.streaming:  # written after this returns: in the same language and zone
            response.streaming_content = _in_locale(response.streaming_content, language, zone)
        return response


def _in_locale(chunks, language, zone):
    """A streamed response's chunks, each produced in `language` and `zone`; the
    thread's own settings are back in place between chunks."""
    iterator = iter(chunks)
    while True:
        with translation.override(language), timezone.override(zone):
            try:
                chunk = next(iterator)
            except StopIteration:
                return
        yield chunk
