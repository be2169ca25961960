"""The console home (``accounts:home``, /console/): what needs a human first.

Operators and admins who may reply somewhere see "waiting for a human" first;
viewers a read-only list of recent conversations. It lives here, not in
accounts, because it reads conversations (accounts is the bottom app).
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import membership_required
from accounts.models import Membership
from conversations.rights import REPLY, inbox_ids
from conversations.selectors.console import (
    ConversationFilters,
    conversation_list,
    conversations_waiting,
    waiting_count,
    waiting_label,
)


def _home_context(membership: Membership) -> dict:
    can_reply = bool(inbox_ids(membership=membership, right=REPLY))
    context: dict = {"can_reply": can_reply}
    if can_reply:
        context["waiting"] = conversations_waiting(membership=membership, limit=10)
        total = waiting_count(membership=membership)
        context["waiting_total"] = waiting_label(total)
        context["more_waiting"] = total > len(context["waiting"])
    else:
        context["recent"] = conversation_list(
            membership=membership, filters=ConversationFilters(), page_size=10
        ).conversations
    return context


@membership_required()
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/home.html",
        {"membership": request.membership, **_home_context(request.membership)},
    )
