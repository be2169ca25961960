"""The data subject of the command line: found by the admin's terms, erased at once.

What `manage.py erase_visitor` and `export_visitor` call; the commands only
parse their arguments, ask for confirmation and print.

Invariants:
- A subject is found within one company only (by slug): a visitor id, a
  conversation reference or an e-mail (by blind index) of another company
  matches nothing.
- Exactly one visitor or a ServiceError: none ("not_found") or several
  ("ambiguous", their ids in `extra`, never their details).
- Messages are in English, as the command line's are (not translated).
- An erasure from the command line is an ordinary request of origin "admin"
  with no staff actor, executed through erasure_execute (receipt "system").
"""

from __future__ import annotations

from accounts.models import Company
from chatbot_site.lib.errors import ServiceError
from conversations.models import Visitor
from retention import selectors
from retention.models import ErasureRequest
from retention.services.erasure import erasure_execute, erasure_request_create


def subject_find(
    *,
    company_slug: str,
    visitor_id: int | None = None,
    reference: str | None = None,
    email: str | None = None,
) -> Visitor:
    """The one visitor of the company matching the first term given (id, reference, e-mail)."""
    company = Company.objects.filter(slug=company_slug).first()
    if company is None:
        raise ServiceError(
            f"No company with the slug {company_slug!r}.",
            code="not_found",
            status=404,
        )
    if visitor_id is not None:
        visitor = selectors.visitor_get(company=company, visitor_id=visitor_id)
        visitors = [visitor] if visitor else []
    elif reference:
        visitors = selectors.visitors_find(company=company, kind="reference", value=reference)
    else:
        visitors = selectors.visitors_find(company=company, kind="email", value=email or "")
    if not visitors:
        raise ServiceError("No visitor of this company matches.", code="not_found", status=404)
    if len(visitors) > 1:
        ids = [v.pk for v in visitors]
        raise ServiceError(
            f"{len(ids)} visitors match (ids {', '.join(str(i) for i in ids)})",
            code="ambiguous",
            status=409,
            extra={"visitor_ids": ids},
        )
    return visitors[0]


def subject_erase_now(*, visitor: Visitor) -> ErasureRequest:
    """Open and execute an erasure of this visitor with no staff actor; ErasureError if refused.

    The executed request carries the signed receipt (request.receipt).
    """
    request = erasure_request_create(company=visitor.company, visitor=visitor, actor=None)
    return erasure_execute(request=request, actor=None)
