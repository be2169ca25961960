"""Faults answered cleanly: what counts as "the database is unavailable", error codes, logging.

Used by the API's exception handlers (chatbot_site/api.py) and the fault
middleware (chatbot_site/middleware.py), so that both answer the same way.

Invariant: an unexpected exception is logged with its type and stack only,
never its message (a message can quote the data that caused it: a message
text, an address, a token).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest

#: A database that cannot be reached, restarts or drops the connection. Not
#: ProgrammingError or IntegrityError: those are bugs or races, answered 500/4xx.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError)

#: Retry-After (seconds) on a 503 while the database is unavailable.
RETRY_AFTER_SECONDS = 5
#: At most one "database unavailable" warning per process in this many seconds.
WARNING_INTERVAL = 10.0

#: The "error" code of an API answer with this status when nothing more specific applies.
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "server_error",
    502: "bad_gateway",
    503: "unavailable",
}

MESSAGES = {
    404: "There is nothing at this address.",
    405: "This method is not allowed here.",
    413: "The request body is too large.",
    500: "Something went wrong on our side. Please try again.",
    503: "The service is briefly unavailable. Please try again in a few seconds.",
}


def error_code(status: int) -> str:
    return ERROR_CODES.get(status, "server_error" if status >= 500 else "bad_request")


def error_message(status: int) -> str:
    return MESSAGES.get(status, MESSAGES[500] if status >= 500 else "The request was refused.")


def is_database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, DATABASE_UNAVAILABLE)


def log_unexpected(logger: logging.Logger, request: HttpRequest, exc: BaseException) -> None:
    """Log an unexpected exception: type, request method and path, stack; not the message."""
    stack = "".join(traceback.format_tb(exc.__traceback__))
    logger.error(
        "unexpected %s on %s %s\n%s", type(exc).__name__, request.method, request.path, stack
    )


_warned_lock = threading.Lock()
_warned_at = float("-inf")


def warn_database_unavailable(logger: logging.Logger, exc: BaseException) -> None:
    """One warning line (the exception type) per WARNING_INTERVAL per process, not one a request."""
    global _warned_at
    now = time.monotonic()
    with _warned_lock:
        if now - _warned_at < WARNING_INTERVAL:
            return
        _warned_at = now
    logger.warning(
        "database unavailable (%s): answering 503 with Retry-After %s "
        "(this warning repeats at most every %d s)",
        type(exc).__name__,
        RETRY_AFTER_SECONDS,
        WARNING_INTERVAL,
    )
