"""Everything that writes consent: notices, consent records, contact details.

Invariants:
- a published notice never changes; a new version is a new row;
- every acceptance and every withdrawal is a ConsentRecord (no IP, no agent);
- personal data typed by a visitor without contact consent never reaches the
  database: it is redacted by the shared detector before storing;
- contact details are stored only after an explicit opt-in, and a withdrawal
  wipes them from the row at once.
"""

from consent.services.errors import ConsentError
from consent.services.notices import (
    inbox_set_notice_required,
    notice_create_draft,
    notice_delete_draft,
    notice_new_version_from,
    notice_publish,
    notice_update_draft,
)
from consent.services.visitors import (
    ContactDetails,
    contact_details_give,
    contact_details_withdraw,
    contact_request,
    default_contact_purpose,
    message_text_for_storage,
    notice_accept,
    notice_require,
)

__all__ = [
    "ConsentError",
    "ContactDetails",
    "contact_details_give",
    "contact_details_withdraw",
    "contact_request",
    "default_contact_purpose",
    "inbox_set_notice_required",
    "message_text_for_storage",
    "notice_accept",
    "notice_create_draft",
    "notice_delete_draft",
    "notice_new_version_from",
    "notice_publish",
    "notice_require",
    "notice_update_draft",
]
