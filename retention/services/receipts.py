"""Checking an erasure receipt given as text: what `manage.py verify_receipt` calls.

Invariants:
- Reads nothing but the text it is given and this server's signing key;
  writes nothing.
- The answer is one line that names ids and a time, never personal data
  (a receipt holds counts only).
"""

from __future__ import annotations

from dataclasses import dataclass

from chatbot_site.lib.crypto import json_loads_strict
from retention.services.erasure import receipt_verify


@dataclass(frozen=True)
class ReceiptCheck:
    valid: bool
    line: str  # "valid: ..." or "invalid: ..."


def receipt_unreadable(exc: Exception) -> ReceiptCheck:
    """The answer for a receipt that could not be read or parsed."""
    return ReceiptCheck(False, f"invalid: cannot read a JSON receipt ({type(exc).__name__})")


def receipt_check(text: str) -> ReceiptCheck:
    """Whether `text` is a receipt this server signed and nobody changed since."""
    try:
        document = json_loads_strict(text)  # a duplicated key is not a receipt
    except ValueError as exc:
        return receipt_unreadable(exc)
    if not receipt_verify(document):
        return ReceiptCheck(False, "invalid: the signature does not match this receipt")
    receipt = document["receipt"]
    return ReceiptCheck(
        True,
        f"valid: erasure request {receipt['request_id']} of company "
        f"{receipt['company_id']}, executed {receipt['executed_at']}",
    )
