"""The visitor's chat page (framed by widget.js) and the demo company website.

Invariant: these pages set no cookie and never touch request.session: they are
rendered without the request context (no auth, CSRF or tenancy processors), and
the chat API they call is token-authenticated and CSRF-exempt. The chat page
may be framed only by 'self' and the inbox's allowed origins (CSP
frame-ancestors); it loads nothing from another host.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from conversations.api import chat_config
from conversations.models import Inbox
from conversations.selectors.visitors import inbox_get_by_public_key

DEMO_PUBLIC_KEY = "demo-website"

# Templates other apps may provide to extend the chat page (scripts, panels);
# each one that exists is included at the end of <body>, after chat.js. The
# consent app hooks its notice gate and contact form in this way.
CHAT_PAGE_EXTENSIONS = ("consent/_chat_extension.html", "retention/_chat_extension.html")
POLL_INTERVAL_MS = 2000
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$")


def frame_ancestors(inbox: Inbox) -> list[str]:
    """'self' and the inbox's allowed origins (anything not shaped like an origin is dropped)."""
    return ["'self'", *[o for o in inbox.origin_list if _ORIGIN.match(o)]]


def chat_csp(inbox: Inbox) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {' '.join(frame_ancestors(inbox))}",
        ]
    )


def chat_strings() -> dict[str, str]:
    """UI strings for chat.js, in the active language."""
    return {
        "you": _("You"),
        "bot": _("Bot"),
        "operator": _("Operator"),
        "system": _("Notice"),
        "send": _("Send"),
        "sending": _("Sending…"),
        "talkToPerson": _("Talk to a person"),
        "handedOver": _("A person will take over this conversation."),
        "closed": _("This conversation has been closed."),
        "startNew": _("Start a new conversation"),
        "redacted": _(
            "We removed personal data from your message because you have not consented to store it."
        ),
        "error": _("Something went wrong. Please try again."),
        "offline": _("The connection was lost. Retrying…"),
        "noticeRequired": _("Please read and accept the privacy notice before chatting."),
        "tooLong": _("The message is too long: at most 4000 characters."),
        "empty": _("Please type a message."),
        "close": _("Close chat"),
    }


def chat_page_extensions() -> list[str]:
    found = []
    for name in CHAT_PAGE_EXTENSIONS:
        try:
            get_template(name)
        except TemplateDoesNotExist:
            continue
        found.append(name)
    return found


@xframe_options_exempt
@require_GET
def chat_page(request: HttpRequest, public_key: str) -> HttpResponse:
    inbox = inbox_get_by_public_key(public_key=public_key)
    if inbox is None:
        raise Http404("No such chat.")
    with translation.override(inbox.language):
        config = chat_config(inbox=inbox)
        page = {
            **config,
            "publicKey": inbox.public_key,
            "apiBase": f"/api/chat/{inbox.public_key}",
            "storageKey": f"hafen:{inbox.public_key}:token",
            "pollMs": POLL_INTERVAL_MS,
            "strings": chat_strings(),
        }
        # No request: context processors would read the session (and set Vary: Cookie).
        html = render_to_string(
            "chat/page.html",
            {"inbox": inbox, "page": page, "extensions": chat_page_extensions()},
        )
    response = HttpResponse(html)
    response["Content-Security-Policy"] = chat_csp(inbox)
    response["Content-Language"] = inbox.language
    response["Cache-Control"] = "no-store"
    return response


def widget_script_url(request: HttpRequest) -> str:
    """The widget's absolute URL: HAFEN_PUBLIC_URL if set, else this request's host."""
    path = static("hafen/widget.js")
    base = getattr(settings, "HAFEN_PUBLIC_URL", "")
    if base:
        return base.rstrip("/") + "/" + path.lstrip("/")
    return request.build_absolute_uri(path)


def widget_snippet(request: HttpRequest, inbox: Inbox) -> str:
    return (
        f'<script src="{widget_script_url(request)}" data-inbox="{inbox.public_key}" '
        f"async></script>"
    )


@require_GET
def demo_page(request: HttpRequest) -> HttpResponse:
    inbox = inbox_get_by_public_key(public_key=DEMO_PUBLIC_KEY)
    with translation.override("de"):
        html = render_to_string(
            "demo/index.html",
            {
                "inbox": inbox,
                "snippet": widget_snippet(request, inbox) if inbox else "",
                "widget_src": widget_script_url(request),
                "chat_url": reverse("chat:page", args=[inbox.public_key]) if inbox else "",
            },
        )
    response = HttpResponse(html)
    response["Content-Language"] = "de"
    return response
