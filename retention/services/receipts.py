"""Erasure receipts: built (signed) by erasure_execute, checked by the verify page and
`manage.py verify_receipt`.

A receipt is {"receipt": <payload>, "signature": <hex>} and nothing else. The
payload names everything a person is shown: the request, the company, the
counts, and how it was signed ("alg": "HMAC-SHA256", "kid": "company-<id>-v1");
the signature is HMAC-SHA256 of its canonical JSON under the company's own
key (chatbot_site.lib.crypto.company_receipt_key), so one company's receipt
never verifies as another's, nor under the server-wide key.

Invariants:
- Reads nothing but the text it is given and this server's signing key;
  writes nothing.
- Refused: a duplicated JSON key, any field outside the signed content (at
  the top level or in the payload), an algorithm or key id other than the
  payload's company's, and, where the caller names a company, a receipt of
  another company.
- Receipts issued before per-company keys (version 1: the plain server key,
  "algorithm" beside the payload) still verify, marked legacy: they were
  handed to people as proof and stay checkable. Their one unsigned field,
  "algorithm", must say "HMAC-SHA256", which is how they are checked; it is
  never shown as read from the document.
- The answer names ids, counts and a time, never personal data (a receipt
  holds counts only).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chatbot_site.lib.crypto import (
    company_receipt_key,
    json_loads_strict,
    sign_with_key,
    verify,
)

if TYPE_CHECKING:
    from retention.models import ErasureRequest

RECEIPT_TYPE = "hafen.erasure-receipt"
RECEIPT_VERSION = 3
RECEIPT_ALGORITHM = "HMAC-SHA256"
KEY_VERSION = 1
# Version 3 (issue 15): the access records about the subject are kept,
# pseudonymised, not erased: "access_records_kept" (how many) and
# "subject_pseudonym" (what the audit log calls the subject now) are signed.
RECEIPT_KEYS = {
    "type",
    "version",
    "alg",
    "kid",
    "request_id",
    "company_id",
    "origin",
    "executed_by",
    "executed_at",
    "erased",
    "access_records_kept",
    "subject_pseudonym",
}
# Version 2 receipts (per-company key, audit entries counted as erased) were
# handed out and stay checkable.
V2_VERSION = 2
V2_KEYS = RECEIPT_KEYS - {"access_records_kept", "subject_pseudonym"}
LEGACY_VERSION = 1
LEGACY_KEYS = V2_KEYS - {"alg", "kid"}


def receipt_kid(company_id: int) -> str:
    """The key id a company's receipts name: which derived key signed them."""
    return f"company-{company_id}-v{KEY_VERSION}"


def receipt_build(
    *,
    request: ErasureRequest,
    erased: dict[str, int],
    executed_by: int | str,
    access_records_kept: int,
    subject_pseudonym: str,
) -> dict[str, Any]:
    """The signed receipt of an executed erasure request: what was erased, and how
    many access records were kept under which pseudonym."""
    payload = {
        "type": RECEIPT_TYPE,
        "version": RECEIPT_VERSION,
        "alg": RECEIPT_ALGORITHM,
        "kid": receipt_kid(request.company_id),
        "request_id": request.pk,
        "company_id": request.company_id,
        "origin": request.origin,
        "executed_by": executed_by,
        "executed_at": request.executed_at.isoformat(timespec="seconds"),
        "erased": erased,
        "access_records_kept": access_records_kept,
        "subject_pseudonym": subject_pseudonym,
    }
    return {
        "receipt": payload,
        "signature": sign_with_key(company_receipt_key(request.company_id), payload),
    }


@dataclass(frozen=True)
class ReceiptCheck:
    valid: bool
    line: str  # "valid: ..." or "invalid: ..."
    # Only for a valid receipt: the signed payload (everything a page may show).
    receipt: dict[str, Any] | None = field(default=None, compare=False)
    legacy: bool = False  # signed with the server-wide key, before per-company keys
    # Why it is invalid, for a page to word: not_receipt, unsigned_fields, signature,
    # other_company (the line says it in English).
    reason: str = ""


def _invalid(reason: str, text: str) -> ReceiptCheck:
    return ReceiptCheck(False, f"invalid: {text}", reason=reason)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _signature_matches(payload: dict[str, Any], signature: str, *, legacy: bool) -> bool:
    if legacy:
        return verify(payload, signature)
    expected = sign_with_key(company_receipt_key(payload["company_id"]), payload)
    return hmac.compare_digest(expected, signature)


def receipt_read(document: Any, *, company_id: int | None = None) -> ReceiptCheck:
    """Check a parsed receipt; `company_id`: refuse receipts of any other company."""
    if not isinstance(document, dict):
        return _invalid("not_receipt", "not a receipt")
    payload, signature = document.get("receipt"), document.get("signature")
    if not isinstance(payload, dict) or not isinstance(signature, str):
        return _invalid("not_receipt", "not a receipt")
    legacy = payload.get("version") == LEGACY_VERSION and set(document) == {
        "receipt",
        "signature",
        "algorithm",
    }
    if not legacy and set(document) != {"receipt", "signature"}:
        return _invalid("unsigned_fields", "it holds fields outside the signed content")
    if legacy:
        shape_ok = (
            document["algorithm"] == RECEIPT_ALGORITHM
            and set(payload) == LEGACY_KEYS
            and payload["version"] == LEGACY_VERSION
        )
    else:
        shape_ok = (
            (
                (set(payload) == RECEIPT_KEYS and payload["version"] == RECEIPT_VERSION)
                or (set(payload) == V2_KEYS and payload["version"] == V2_VERSION)
            )
            and payload["alg"] == RECEIPT_ALGORITHM
            and _is_id(payload["company_id"])
            and payload["kid"] == receipt_kid(payload["company_id"])
        )
    if not shape_ok or payload.get("type") != RECEIPT_TYPE or not _is_id(payload["company_id"]):
        return _invalid("not_receipt", "not a receipt in a form this server issues")
    if not _signature_matches(payload, signature, legacy=legacy):
        return _invalid("signature", "the signature does not match this receipt")
    if company_id is not None and payload["company_id"] != company_id:
        return _invalid("other_company", "this receipt was issued for another company")
    note = " (legacy server-wide key)" if legacy else ""
    return ReceiptCheck(
        True,
        f"valid: erasure request {payload['request_id']} of company "
        f"{payload['company_id']}, executed {payload['executed_at']}{note}",
        receipt=payload,
        legacy=legacy,
    )


def receipt_verify(document: Any) -> bool:
    """True if `document` is a receipt this server signed and nobody changed since."""
    return receipt_read(document).valid


def receipt_unreadable(exc: Exception) -> ReceiptCheck:
    """The answer for a receipt that could not be read or parsed."""
    return ReceiptCheck(
        False, f"invalid: cannot read a JSON receipt ({type(exc).__name__})", reason="not_receipt"
    )


def receipt_check(text: str, *, company_id: int | None = None) -> ReceiptCheck:
    """Whether `text` is a receipt this server signed and nobody changed since."""
    try:
        document = json_loads_strict(text)  # a duplicated key is not a receipt
    except ValueError as exc:
        return receipt_unreadable(exc)
    return receipt_read(document, company_id=company_id)
