"""Tokens, token hashes, blind indexes and signatures.

Invariant: the server stores only hashes of bearer tokens and only keyed HMACs
(blind indexes) of personal values it must look up; never the values themselves.
"""

import hashlib
import hmac
import json
import secrets
from typing import Any

from django.conf import settings


def new_token() -> str:
    """A random bearer token for the browser (256 bits)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def blind_index(value: str) -> str:
    """HMAC of a normalised value, so an encrypted column can still be looked up."""
    normalised = value.strip().casefold()
    return hmac.new(settings.BLIND_INDEX_KEY.encode(), normalised.encode(), "sha256").hexdigest()


def canonical_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(payload: dict[str, Any]) -> str:
    key = settings.RECEIPT_SIGNING_KEY.encode()
    return hmac.new(key, canonical_json(payload), "sha256").hexdigest()


def verify(payload: dict[str, Any], signature: str) -> bool:
    return hmac.compare_digest(sign(payload), signature or "")
