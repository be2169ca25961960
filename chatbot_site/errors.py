"""The 403, 404 and 500 pages (handler403/404/500 in chatbot_site/urls.py).

- Signed-in staff with a company see the page inside the console layout
  (templates/base.html, with its navigation); everyone else a neutral page
  that names no company (templates/errors/_public.html).
- The 500 page renders without the request: no context processor runs, so it
  reads neither the session nor the database, which may be what failed.
- Under /api/ every error is JSON: FaultMiddleware (chatbot_site.middleware)
  replaces whatever these return there.
- All three are in the active language (LocaleMiddleware has chosen it from
  the cookie or Accept-Language before any view runs); for staff, as on
  every console page, the company's language unless they picked one.
- Each sets the site's Content-Security-Policy and no-store itself: an error
  raised in a middleware that sits outside CSPMiddleware and NoStoreMiddleware
  (a session that cannot be read) never passes through them.
"""

from __future__ import annotations

from csp.utils import build_policy
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponseServerError,
)
from django.template.loader import render_to_string
from django.utils import translation

from accounts.preferences import console_language

CONSOLE_LAYOUT = "base.html"
PUBLIC_LAYOUT = "errors/_public.html"


def _membership(request: HttpRequest):
    """The signed-in user's current membership (accounts' CurrentCompanyMiddleware), or None."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    get_membership = getattr(request, "get_membership", None)
    return get_membership() if get_membership is not None else None


def _render(request: HttpRequest, template: str) -> str:
    membership = _membership(request)
    if membership is None:
        return render_to_string(template, {"layout": PUBLIC_LAYOUT}, request=request)
    # As on every console page (accounts.preferences): the person's language,
    # else their language cookie's, else the company's.
    language = console_language(membership=membership, request=request)
    with translation.override(language):
        return render_to_string(template, {"layout": CONSOLE_LAYOUT}, request=request)


def _with_headers(response: HttpResponse) -> HttpResponse:
    response["Content-Security-Policy"] = build_policy()  # settings.CONTENT_SECURITY_POLICY
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _with_headers(HttpResponseForbidden(_render(request, "403.html")))


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _with_headers(HttpResponseNotFound(_render(request, "404.html")))


def handler500(request: HttpRequest) -> HttpResponse:
    """No request context: nothing here may touch the session or the database."""
    html = render_to_string("500.html", {"layout": PUBLIC_LAYOUT})
    return _with_headers(HttpResponseServerError(html))
