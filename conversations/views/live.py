"""The live part of the console's conversation page (static/console/conversation_live.js).

The page fetches this endpoint when the socket says its conversation changed
(or every few seconds when the socket cannot connect). Events carry ids only,
so what the page shows still comes through the rights check and the masking
of conversations.services.operator, rendered by the same partials as the page.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.decorators import membership_required
from conversations.rights import REPLY, rights_on_inbox
from conversations.selectors.console import conversation_get_for_console
from conversations.services.operator import conversation_follow

# Rows per answer; the page asks again (after=<last id>) while `more` is true.
LIVE_PAGE_SIZE = 100


def _after(request: HttpRequest) -> int | None:
    raw = request.GET.get("after", "0") or "0"
    if not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


@membership_required()
@require_GET
def conversation_live(request: HttpRequest, conversation_id: int) -> JsonResponse:
    """New message rows after ``?after=<message id>`` and the conversation's state, as JSON.

    Audit: not logged per fetch. These fetches are part of the page view that
    the detail page logged as ``conversation.open``; the rights are checked
    again on every fetch (conversation_follow), so a lost right ends the stream.
    Personal data is always masked here: a reveal is for its own response only.
    """
    after = _after(request)
    if after is None:
        return JsonResponse(
            {"error": "invalid_after", "message": _("“after” must be a message id.")},
            status=400,
        )
    membership = request.membership
    conversation = conversation_get_for_console(
        membership=membership, conversation_id=conversation_id
    )
    view = conversation_follow(
        membership=membership,
        conversation=conversation,
        after_id=after,
        limit=LIVE_PAGE_SIZE + 1,
    )
    messages = view.messages[:LIVE_PAGE_SIZE]
    assignee = conversation.assigned_to
    response = JsonResponse(
        {
            "conversation": conversation.pk,
            "status": conversation.status,
            "status_label": conversation.get_status_display(),
            "assigned_to": conversation.assigned_to_id,
            # the name for the take-over banner, the username as the page's "Assigned to" shows it
            "assignee_name": (assignee.get_full_name() or assignee.get_username())
            if assignee
            else "",
            "assignee_username": assignee.get_username() if assignee else "",
            "holds": conversation.assigned_to_id == membership.user_id
            and conversation.status == conversation.Status.OPERATOR,
            "can_reply": REPLY
            in rights_on_inbox(membership=membership, inbox_id=conversation.inbox_id),
            "messages_html": render_to_string(
                "console/_message_rows.html", {"messages": messages}, request=request
            ),
            "last_id": messages[-1].id if messages else after,
            "more": len(view.messages) > LIVE_PAGE_SIZE,
            "has_contact_details": view.visitor.has_contact_details,
            "contact_html": render_to_string(
                "console/_contact_facts.html", {"view": view}, request=request
            ),
        }
    )
    response["Cache-Control"] = "no-store"
    return response
