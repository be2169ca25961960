"""The JSON API (django-ninja), described at /api/openapi.json.

Each app adds its own router; every error is JSON {"error": code, "message": text}
and never echoes message text or personal data: client errors (4xx: a
chatbot_site.lib.errors.ServiceError raised by a service or an API module,
with its status, extra fields and headers), and also
a database that cannot be reached (503 with Retry-After), a body over the cap
(413) and any unexpected exception (500, logged without its message). Errors
that happen outside ninja under /api/ (no such URL, a middleware failing) are
turned into the same shape by chatbot_site.middleware.FaultMiddleware.
"""

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from chatbot_site.lib import faults
from chatbot_site.lib.errors import ServiceError
from consent.api import router as consent_router
from conversations.api import router as chat_router
from retention.api import router as retention_router

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="Hafen chat API",
    version="1.0",
    description="Visitor chat: public inbox config, conversations, messages, consent, self-service.",
    urls_namespace="api",
    docs_url=None,
)


def error_response(request: HttpRequest, status: int, code: str, message: str, **extra):
    response = api.create_response(
        request, {"error": code, "message": str(message), **extra}, status=status
    )
    return response


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError):
    """Every refusal of a service or an API module (chatbot_site.lib.errors), the one place."""
    response = error_response(request, exc.status, exc.code, exc.message, **exc.extra)
    for name, value in exc.headers.items():
        response[name] = value
    return response


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError):
    # Name the fields, never echo the submitted values (they may hold personal data).
    fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) or "body" for e in exc.errors})
    return error_response(
        request, 422, "invalid_request", f"The request is not valid: check {', '.join(fields)}."
    )


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError):
    return error_response(request, 401, "unauthorized", "A valid visitor token is required.")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError):
    return error_response(request, exc.status_code, faults.error_code(exc.status_code), str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404):
    return error_response(request, 404, "not_found", faults.error_message(404))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception):
    """Anything else: JSON, never ninja's traceback (DEBUG) or Django's HTML page."""
    if faults.is_database_unavailable(exc):
        faults.warn_database_unavailable(logger, exc)
        response = error_response(request, 503, "unavailable", faults.error_message(503))
        response["Retry-After"] = str(faults.RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, RequestDataTooBig):
        return error_response(request, 413, "payload_too_large", faults.error_message(413))
    faults.log_unexpected(logger, request, exc)
    return error_response(request, 500, "server_error", faults.error_message(500))


api.add_router("", chat_router)
api.add_router("", consent_router)
api.add_router("", retention_router)
