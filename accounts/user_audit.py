"""Audit events about a person rather than a company's row (sign-in, 2FA, password).

The audit log is scoped by company, and a person may belong to several: the
event is written once for each company they are an active member of, with
their Membership as the object, so every company's admins see it. Only ids
and labels go in; never a password, a code or a secret.
"""

from __future__ import annotations

from typing import Any

from auditlog.models import LogEntry
from django.contrib.auth.base_user import AbstractBaseUser

from accounts.selectors import membership_list_for_user
from chatbot_site.lib.audit import audit_event


def user_audit_event(
    *,
    user: AbstractBaseUser,
    actor: Any,
    event: str,
    action: int = LogEntry.Action.UPDATE,
    **data: Any,
) -> int:
    """Write `event` for each of the user's active memberships; returns how many entries."""
    count = 0
    for membership in membership_list_for_user(user=user):
        audit_event(
            company_id=membership.company_id,
            actor=actor,
            obj=membership,
            action=action,
            event=event,
            user_id=user.pk,
            **data,
        )
        count += 1
    return count
