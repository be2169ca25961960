"""Resolving the inbox and the visitor of a chat API request.

Visitors authenticate with `Authorization: Bearer <token>`; an unknown inbox is a
404, a missing, wrong or expired token a 401, both ServiceErrors (JSON errors).
"""

from django.http import HttpRequest
from django.utils.translation import gettext as _

from chatbot_site.lib.errors import ServiceError
from conversations.models import Inbox, Visitor
from conversations.selectors.visitors import inbox_get_by_public_key, visitor_get_by_token


def bearer_token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def inbox_or_404(public_key: str) -> Inbox:
    inbox = inbox_get_by_public_key(public_key=public_key)
    if inbox is None:
        raise ServiceError(_("This chat does not exist."), code="unknown_inbox", status=404)
    return inbox


def visitor_or_401(request: HttpRequest, *, inbox: Inbox) -> Visitor:
    token = bearer_token(request)
    if not token:
        raise ServiceError(_("A visitor token is required."), code="token_missing", status=401)
    visitor = visitor_get_by_token(inbox=inbox, token=token)
    if visitor is None:
        raise ServiceError(
            _("This visitor token is not valid or has expired."), code="token_invalid", status=401
        )
    return visitor


def visitor_or_none(request: HttpRequest, *, inbox: Inbox) -> Visitor | None:
    token = bearer_token(request)
    return visitor_get_by_token(inbox=inbox, token=token) if token else None
