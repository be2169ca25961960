"""Visitor self-service with the bearer token: export my data, erase my data.

Both answer for the visitor the token belongs to and nobody else; the erasure
is the admin's service with origin "visitor" and returns the same signed receipt.
"""

from django.http import HttpRequest
from ninja import Router

from chatbot_site.api import ApiError
from conversations.api import limit_client, limit_self_service, limit_visitor_only
from conversations.api_auth import inbox_or_404, visitor_or_401
from retention.services.erasure import ErasureError, erasure_self_service
from retention.services.export import visitor_export

router = Router(tags=["retention"])


@router.post("/chat/{public_key}/erase", summary="Erase my data (Art. 17)")
def erase(request: HttpRequest, public_key: str) -> dict:
    inbox = inbox_or_404(public_key)
    limit_client(request, inbox)
    visitor = visitor_or_401(request, inbox=inbox)
    limit_self_service(visitor)  # erase and export together, per visitor
    limit_visitor_only(visitor)
    try:
        erasure = erasure_self_service(visitor=visitor)
    except ErasureError as exc:
        # The ledger cannot be written: nothing was erased, try again later.
        status = 503 if exc.code == "ledger_unavailable" else 409
        raise ApiError(status, exc.message, code=exc.code) from None
    return erasure.receipt


@router.get("/chat/{public_key}/export", summary="Download my data (Art. 15 / 20)")
def export(request: HttpRequest, public_key: str) -> dict:
    inbox = inbox_or_404(public_key)
    limit_client(request, inbox)
    visitor = visitor_or_401(request, inbox=inbox)
    limit_self_service(visitor)  # erase and export together, per visitor
    limit_visitor_only(visitor)
    return visitor_export(visitor=visitor, actor=None, output="json")
