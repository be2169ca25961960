"""Project middleware."""

from __future__ import annotations

from auditlog.middleware import AuditlogMiddleware as BaseAuditlogMiddleware
from django.conf import settings
from django.http import HttpRequest


class AuditlogMiddleware(BaseAuditlogMiddleware):
    """django-auditlog's middleware, without loading the session of a request that has none.

    The actor of an audit entry is the signed-in user; a request without a
    session cookie (every chat API call of a visitor) has none, so the user
    is not looked up at all. Same actor as the base class in every case:
    without a session cookie the session is empty and the user anonymous.
    """

    @staticmethod
    def _get_actor(request: HttpRequest):
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return BaseAuditlogMiddleware._get_actor(request)
