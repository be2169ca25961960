"""The one error type services raise: ServiceError (message, code, HTTP status), plus NotAllowed.

House style (STYLE.md), after Zulip's JsonableError and HackSoft's ApplicationError:

- A service that refuses an action raises ServiceError, or a subclass that sets
  `code` and `status` defaults so callers can catch a specific refusal
  (`ConversationClosed`, `ErasureError`, ...). Nothing else: no ValueError,
  no Django ValidationError, no PermissionError out of a service.
- `message` is shown to the person who tried (translated, no personal data);
  `code` is stable for API clients; `extra` holds ids and versions only and is
  added to the API's JSON body; `headers` go on the API response (Retry-After);
  `field` names the form field a page shows the message next to (pages only).
- Translated to a response in one place for the API (chatbot_site.api:
  {"error": code, "message": message, **extra} with `status` and `headers`)
  and one for pages (chatbot_site.middleware.ServiceErrorMiddleware: NotAllowed
  is the 403 page; a view that re-renders a form catches ServiceError itself
  and shows `message` with `form_add_error`).
"""

from __future__ import annotations

from typing import Any, ClassVar


class ServiceError(Exception):
    """A request a service refuses: raise ServiceError(_("..."), code="closed", status=409)."""

    code: ClassVar[str | None] = None
    status: ClassVar[int] = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        # Instance attributes shadow the class defaults of a subclass.
        self.code = code or type(self).code  # type: ignore[misc]
        if not self.code:
            raise TypeError(f"{type(self).__name__} needs a code")
        self.status = status or type(self).status  # type: ignore[misc]
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


class NotAllowed(ServiceError):
    """The actor lacks the right for this action (403; pages show the 403 page)."""

    code = "forbidden"
    status = 403


def form_add_error(form: Any, exc: ServiceError, *, field: str | None = None) -> None:
    """Show a service's refusal on a Django form: next to `field` (or exc.field), else on top."""
    form.add_error(field or exc.field, exc.message)
