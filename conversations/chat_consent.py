"""What the visitor chat asks consent: the one seam between the two apps.

consent sits above conversations: its records point at conversations'
visitors and inboxes, so consent imports conversations. The visitor chat
(conversations/api.py, services/chat.py, selectors/chat.py) must still ask
consent whether the privacy notice is owed and how a visitor's text may be
stored. Rather than importing consent (a cycle) or moving the chat API out of
conversations (where README's Layout table says it lives, with the widget and
the chat page), the dependency is inverted: the chat calls the functions of
this module, and consent installs its implementations in
ConsentConfig.ready() (consent/apps.py), the way an app connects a signal.

Invariants:
- Until consent has installed every hook, each function raises
  ImproperlyConfigured: the chat never runs without its consent checks (there
  is no default that would skip the notice or store unredacted text).
- install() takes exactly the hooks listed in HOOKS, all at once.
- This module imports no model and no other app, so consent/apps.py may import
  it at module level.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# Where chat_auth_get (selectors/chat.py) leaves the visitor's latest
# contact-consent action, so consent.selectors.visitor_has_contact_consent
# answers without a query.
CONTACT_ACTION_ATTR = "_latest_contact_consent_action"

HOOKS = (
    "notice_current",
    "notice_to_accept",
    "notice_require",
    "message_text_for_storage",
    "latest_consent_sql",
    "current_notice_id_sql",
)

_installed: dict[str, Callable[..., Any]] = {}


def install(**hooks: Callable[..., Any]) -> None:
    """Install consent's implementations; called once from ConsentConfig.ready()."""
    if set(hooks) != set(HOOKS):
        wrong = sorted(set(hooks) ^ set(HOOKS))
        raise TypeError(f"chat_consent.install() needs exactly {HOOKS}; differs in {wrong}")
    _installed.update(hooks)


def _hook(name: str) -> Callable[..., Any]:
    try:
        return _installed[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"The visitor chat needs consent's {name}(): is 'consent' in INSTALLED_APPS?"
        ) from None


def notice_current(*, company_id: int) -> Any:
    """The newest published privacy notice of a company, or None."""
    return _hook("notice_current")(company_id=company_id)


def notice_to_accept(*, inbox: Any, visitor: Any) -> Any:
    """The notice this visitor (None: a new one) must accept before chatting, or None."""
    return _hook("notice_to_accept")(inbox=inbox, visitor=visitor)


def notice_require(*, inbox: Any, visitor: Any) -> None:
    """Raise a ServiceError (403 notice_required) while the visitor owes the notice."""
    _hook("notice_require")(inbox=inbox, visitor=visitor)


def message_text_for_storage(*, visitor: Any, text: str) -> tuple[str, int]:
    """The text to store for a visitor's message, and how many spans were redacted."""
    return _hook("message_text_for_storage")(visitor=visitor, text=text)


def latest_consent_sql(*, purpose: str, select: str, visitor: str) -> str:
    """A scalar subquery: `select` over the visitor's latest consent record for `purpose`."""
    return _hook("latest_consent_sql")(purpose=purpose, select=select, visitor=visitor)


def current_notice_id_sql(*, company_id: str) -> str:
    """A scalar subquery: the id of the newest published notice of `company_id`."""
    return _hook("current_notice_id_sql")(company_id=company_id)
