"""Project middleware: the audit actor without a session lookup, FaultMiddleware, and
ServiceErrorMiddleware (the one place a service's refusal becomes a page)."""

from __future__ import annotations

import logging
import sys

from auditlog.middleware import AuditlogMiddleware as BaseAuditlogMiddleware
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.handlers.exception import response_for_exception
from django.core.signals import got_request_exception
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.urls import Resolver404, resolve
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme

from chatbot_site.lib import faults
from chatbot_site.lib.errors import NotAllowed, ServiceError

logger = logging.getLogger(__name__)


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


# --- faults: body caps, database unavailable, JSON errors under /api/ ---------

API_PREFIX = "/api/"

_PAGE = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
    "<body><h1>{title}</h1><p>{text}</p></body></html>\n"
)


def _remember_exception(sender, request: HttpRequest | None = None, **kwargs) -> None:
    """Keep the exception Django is about to turn into a 500, for FaultMiddleware to read."""
    if request is not None:
        request._hafen_exception = sys.exc_info()[1]


# Sent by Django inside its except block, before it renders the 500 page.
got_request_exception.connect(_remember_exception, dispatch_uid="hafen-fault-middleware")


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # what Django itself reads from a malformed header


def _caps_own_body(request: HttpRequest) -> bool:
    """A page view marked `caps_own_body = True` (the FAQ file import) limits its
    upload itself and shows the limit on its own page."""
    try:
        return bool(getattr(resolve(request.path_info).func, "caps_own_body", False))
    except Resolver404:
        return False


def json_error(status: int, code: str | None = None, message: str | None = None) -> JsonResponse:
    """The API's error shape, {"error": code, "message": text}, outside ninja."""
    return JsonResponse(
        {
            "error": code or faults.error_code(status),
            "message": message or faults.error_message(status),
        },
        status=status,
    )


def _page(status: int, title: str, text: str) -> HttpResponse:
    """A plain page that needs no template, no database and no context processor."""
    return HttpResponse(
        _PAGE.format(title=title, text=text), status=status, content_type="text/html; charset=utf-8"
    )


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        response = json_error(503, "unavailable")
    else:
        response = _page(503, "Service unavailable", faults.error_message(503))
    response["Retry-After"] = str(faults.RETRY_AFTER_SECONDS)
    return response


def too_large_response(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return json_error(413, "payload_too_large")
    return _page(413, "Request too large", faults.error_message(413))


class FaultMiddleware:
    """Faults answered cleanly, for pages and for the API.

    - A body larger than settings.HAFEN_API_MAX_BODY_BYTES under /api/ (64 KB) or
      DATA_UPLOAD_MAX_MEMORY_SIZE elsewhere (2.5 MB) is refused with 413 from its
      Content-Length, before anything reads it (JSON under /api/, a plain page
      elsewhere), never a traceback.
    - A database that cannot be reached (chatbot_site.lib.faults) is a 503 with
      Retry-After: JSON under /api/, a plain page (no template, no database)
      elsewhere; also when it fails in a middleware rather than in the view.
    - Under /api/ every error response is JSON {"error", "message"}: Django's
      404 for an unknown URL, a 405, a 500 page, are replaced by that shape.
    - TRACE is refused everywhere (405): no view answers it, so nothing can
      echo a request's headers back (cross-site tracing).

    Sits right after SecurityMiddleware, outside everything that could read a
    body or touch the database.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = _is_api(request)
        if request.method == "TRACE":
            response = HttpResponseNotAllowed(["GET", "HEAD", "POST", "OPTIONS"])
            return _as_json(response) if api else response
        cap = settings.HAFEN_API_MAX_BODY_BYTES if api else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if cap is not None and _content_length(request) > cap and not _caps_own_body(request):
            return too_large_response(request)
        response = self.get_response(request)
        if response.status_code >= 500 and faults.is_database_unavailable(
            getattr(request, "_hafen_exception", None)
        ):
            faults.warn_database_unavailable(logger, request._hafen_exception)
            return unavailable_response(request)
        if api and response.status_code >= 400 and not _is_json(response):
            return _as_json(response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        """Exceptions of views (and of rendering their templates)."""
        if faults.is_database_unavailable(exception):
            faults.warn_database_unavailable(logger, exception)
            return unavailable_response(request)
        if isinstance(exception, RequestDataTooBig):
            return too_large_response(request)
        if _is_api(request):
            faults.log_unexpected(logger, request, exception)
            return json_error(500)
        return None  # Django's own 500 handling (and its log entry)


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def _as_json(response: HttpResponse) -> JsonResponse:
    replaced = json_error(response.status_code)
    for header in ("Allow", "Retry-After", "Cache-Control", "Pragma"):
        if header in response:
            replaced[header] = response[header]
    return replaced


# --- service errors on pages ---------------------------------------------------


class ServiceErrorMiddleware:
    """A ServiceError (chatbot_site.lib.errors) that leaves a page's view, as a page.

    The API answers them in chatbot_site.api; this is the one place for pages:

    - NotAllowed is the 403 page (Django's handler403), whichever service
      refused; views do not catch it to re-raise PermissionDenied.
    - Any other ServiceError the view did not show itself (a view that
      re-renders a form catches it and puts `message` on the form) becomes a
      flash message and a redirect back to the page the request came from
      (Post/Redirect/Get), or, without a same-site Referer, a plain page with
      the error's status and message.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, ServiceError) or _is_api(request):
            return None
        if isinstance(exception, NotAllowed):
            return response_for_exception(request, PermissionDenied(str(exception)))
        back = request.headers.get("Referer", "")
        if back and url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            messages.error(request, str(exception))
            return HttpResponseRedirect(back)
        return _page(exception.status, "Request refused", escape(str(exception)))


class NoStoreMiddleware:
    """Cache-Control: no-store (and Pragma: no-cache) on every response of a view.

    Conversation pages, reveals, exports, receipts, the audit CSV and the API
    all show personal data, and a page that does not today may tomorrow: the
    rule is "every response", not a list of paths that would go stale. A
    view that set Cache-Control itself keeps its own (it decided); static
    files never get here (WhiteNoise answers them before this middleware,
    runserver's static handler before any middleware) and are skipped by
    path as well, should they ever pass through.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path_info.startswith(self.static_prefix):
            return response
        if "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        if "no-store" in response["Cache-Control"]:
            response.setdefault("Pragma", "no-cache")
        return response
