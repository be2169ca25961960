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
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from conversations.api import chat_config
from conversations.api import chat_strings as api_chat_strings
from conversations.models import Inbox
from conversations.selectors.visitors import inbox_get_by_public_key
from conversations.services.chat import chat_language_choose

DEMO_PUBLIC_KEY = "demo-website"

# Templates other apps may provide to extend the chat page (scripts, panels);
# each one that exists is included at the end of <body>, after chat.js. The
# consent app hooks its notice gate and contact form in this way.
CHAT_PAGE_EXTENSIONS = ("consent/_chat_extension.html", "retention/_chat_extension.html")
POLL_INTERVAL_MS = 2000
MAX_ACCEPT_LANGUAGES = 20
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
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


def chat_strings(*, language: str) -> dict[str, str]:
    """UI strings for chat.js in `language` (the API's switch returns the same)."""
    return api_chat_strings(language=language)


def accepted_languages(header: str) -> list[str]:
    """The language tags of an Accept-Language header, most preferred first
    (q=0 dropped, malformed parts ignored); only read, never stored."""
    ranked = []
    for position, part in enumerate(header.split(",")[:MAX_ACCEPT_LANGUAGES]):
        tag, _sep, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*" or not _LANGUAGE_TAG.match(tag):
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _q, _p, tag in sorted(ranked)]


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
    # The browser's language when the chat offers it, else the inbox's.
    language = chat_language_choose(
        inbox=inbox, requested=accepted_languages(request.headers.get("Accept-Language", ""))
    )
    with translation.override(language):
        config = chat_config(inbox=inbox, language=language)
        page = {
            **config,
            "publicKey": inbox.public_key,
            "apiBase": f"/api/chat/{inbox.public_key}",
            "storageKey": f"hafen:{inbox.public_key}:token",
            "pollMs": POLL_INTERVAL_MS,
        }
        # No request: context processors would read the session (and set Vary: Cookie).
        html = render_to_string(
            "chat/page.html",
            {
                "inbox": inbox,
                "page": page,
                "language": language,
                "extensions": chat_page_extensions(),
            },
        )
    response = HttpResponse(html)
    response["Content-Security-Policy"] = chat_csp(inbox)
    response["Content-Language"] = language
    response["Vary"] = "Accept-Language"
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
