"""Staff sessions: the StaffSession index beside Django's own session rows.

Django keeps a session as a row keyed by its session key and cannot list a
user's sessions; StaffSession names each signed-in session of a staff member
(written at sign-in, deleted at logout) so they can see and end them. Ending a
session deletes Django's row, so the cookie that named it signs nobody in.
No IP address is kept, only a short user agent label.
"""

from __future__ import annotations

import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import StaffSession
from accounts.user_audit import user_audit_event

#: The stored user agent is cut to the column's length.
USER_AGENT_MAX = 200


def staff_session_start(
    *, user: AbstractBaseUser, session_key: str, user_agent: str
) -> StaffSession:
    """Index a freshly signed-in session; a reused key (should not happen) is re-owned."""
    now = timezone.now()
    row, _ = StaffSession.objects.update_or_create(
        session_key=session_key,
        defaults={
            "user": user,
            "user_agent": (user_agent or "")[:USER_AGENT_MAX],
            "created_at": now,
            "last_seen_at": now,
        },
    )
    return row


def staff_session_touch(*, session_key: str, now: datetime.datetime | None = None) -> int:
    """Record activity; the caller writes at most once a minute. Returns rows updated."""
    return StaffSession.objects.filter(session_key=session_key).update(
        last_seen_at=now or timezone.now()
    )


def staff_session_end(*, session_key: str | None) -> int:
    """Forget one session's index row (logout; Django deletes its own row)."""
    if not session_key:
        return 0
    deleted, _ = StaffSession.objects.filter(session_key=session_key).delete()
    return deleted


@transaction.atomic
def end_sessions(*, user: AbstractBaseUser, keep_session_key: str | None = None) -> int:
    """End every indexed session of `user` except `keep_session_key`; returns how many.

    Deletes Django's session rows named by the user's StaffSession rows, then
    those rows. Works with the database session backend (the project's); a
    session in another backend simply is not found.
    """
    rows = StaffSession.objects.filter(user=user)
    if keep_session_key:
        rows = rows.exclude(session_key=keep_session_key)
    keys = list(rows.values_list("session_key", flat=True))
    if not keys:
        return 0
    Session.objects.filter(session_key__in=keys).delete()
    StaffSession.objects.filter(user=user, session_key__in=keys).delete()
    return len(keys)


# --- idle timeout and absolute lifetime -------------------------------------

#: Unix times kept in the session: when it signed in, when it was last active.
STARTED_KEY = "hafen_started_at"
SEEN_KEY = "hafen_seen_at"
#: Put in the fresh anonymous session after an expiry, read once by the login page.
EXPIRED_KEY = "hafen_expired"
#: Last activity (session and StaffSession) is written at most this often.
TOUCH_EVERY_SECONDS = 60


def session_security_start(session, *, now: float) -> None:
    """Stamp a freshly signed-in session: both clocks start now."""
    session[STARTED_KEY] = now
    session[SEEN_KEY] = now


def session_expiry_reason(
    session, *, now: float, idle_seconds: float, max_seconds: float
) -> str | None:
    """ "idle" or "lifetime" when the session is over, else None."""
    started = session.get(STARTED_KEY)
    seen = session.get(SEEN_KEY)
    if started is not None and now - float(started) > max_seconds:
        return "lifetime"
    if seen is not None and now - float(seen) > idle_seconds:
        return "idle"
    return None


# --- the own account page ---------------------------------------------------


def staff_session_list(*, user: AbstractBaseUser) -> list[StaffSession]:
    """The user's sessions, newest activity first (index staffsession_user_seen)."""
    return list(StaffSession.objects.filter(user=user).order_by("-last_seen_at"))


def staff_session_rekey(*, user: AbstractBaseUser, old_key: str | None, new_key: str) -> int:
    """Follow a session whose key Django cycled (password change keeps it signed in)."""
    if not old_key or old_key == new_key:
        return 0
    return StaffSession.objects.filter(user=user, session_key=old_key).update(session_key=new_key)


def sessions_end_others(
    *, user: AbstractBaseUser, keep_session_key: str | None, reason: str
) -> int:
    """End the user's other sessions and audit it as "sessions.ended" (count and reason)."""
    ended = end_sessions(user=user, keep_session_key=keep_session_key)
    user_audit_event(user=user, actor=user, event="sessions.ended", count=ended, reason=reason)
    return ended


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def user_agent_label(user_agent: str) -> str:
    """ "Firefox on Linux": enough to recognise a session, nothing more."""
    browser = next((name for token, name in _BROWSERS if token in user_agent), "")
    system = next((name for token, name in _SYSTEMS if token in user_agent), "")
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or _("Unknown browser")
