"""Everything that writes consent: notices, consent records, contact details.

Invariant: personal data typed by a visitor without contact consent never
reaches the database; it is redacted by the shared detector before storing.
"""

from chatbot_site.lib.pii import redact
from consent.selectors import visitor_has_contact_consent
from conversations.models import Visitor


def message_text_for_storage(*, visitor: Visitor, text: str) -> tuple[str, int]:
    """The text to store for a visitor's message, and how many spans were redacted."""
    if visitor_has_contact_consent(visitor=visitor):
        return text, 0
    company = visitor.company
    return redact(text, region=company.country, language=visitor.inbox.language)
