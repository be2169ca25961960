"""The erasure ledger: whom to erase again after a database restore.

Invariants:

- Every executed erasure has a ledger entry, written in the erasure's own
  transaction: a row (ErasureLedgerEntry) and one line appended to a JSON-lines
  file outside the database (`ledger_path()`), flushed and fsynced before the
  transaction commits. If the line cannot be written, the erasure fails and
  rolls back: an erasure without a ledger entry could come back with the next
  restore, a failed erasure can simply be retried. (The reverse, a line whose
  transaction then fails to commit, can happen; re-applying it erases a visitor
  whose erasure was requested, which is what the request asked for.)
- The ledger holds no personal data and no plaintext visitor id: the company
  id, the erasure request id, the origin, the time, and two keyed hashes,
  `visitor_ref` (of the visitor's id) and `token_ref` (of their token hash),
  both scoped to the company. The key is derived from BLIND_INDEX_KEY, so the
  ledger is useless without it and needs no new secret. Each line carries an
  HMAC over its content; a line that does not verify stops a re-apply.
- Re-applying (`retention.services.reapply.erasures_reapply`) goes through the normal erasure service,
  one visitor per transaction, each with a receipt of its own (origin
  "restore") and its own ledger entry; a visitor already gone is reported,
  not an error, so running it twice is a no-op the second time.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime

from chatbot_site.lib.crypto import canonical_json
from chatbot_site.lib.errors import ServiceError

LEDGER_VERSION = 1
LEDGER_KEYS = {
    "v",
    "company_id",
    "request_id",
    "origin",
    "visitor_ref",
    "token_ref",
    "executed_at",
    "reapplies_request_id",
    "mac",
}
# Visitors of a company are hashed in chunks of this size while looking for ledger matches.
MATCH_CHUNK = 2000


class LedgerError(ServiceError):
    """The ledger cannot be written or read; the message says which file and why.

    For the administrator's command only (it names a path): the erasure service
    turns it into ErasureError("ledger_unavailable") before anyone else sees it.
    """

    code = "ledger_unavailable"
    status = 503


def ledger_path() -> Path:
    """Where the ledger file lives: settings.HAFEN_ERASURE_LEDGER_PATH (var/erasure-ledger.jsonl)."""
    return Path(settings.HAFEN_ERASURE_LEDGER_PATH)


def _key() -> bytes:
    """The ledger's HMAC key, derived from BLIND_INDEX_KEY (a separate purpose, same secret)."""
    return _derive(settings.BLIND_INDEX_KEY)


@functools.lru_cache(maxsize=4)
def _derive(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"hafen.erasure-ledger.v1", hashlib.sha256).digest()


def _ref(kind: str, company_id: int, value: str) -> str:
    message = f"{kind}\x00{company_id}\x00{value}".encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def visitor_ref(*, company_id: int, visitor_id: int) -> str:
    return _ref("visitor", company_id, str(visitor_id))


def token_ref(*, company_id: int, token_hash: str) -> str:
    return _ref("token", company_id, token_hash) if token_hash else ""


def _mac(payload: dict[str, Any]) -> str:
    return hmac.new(_key(), canonical_json(payload), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class LedgerRecord:
    company_id: int
    request_id: int
    origin: str
    visitor_ref: str
    token_ref: str
    executed_at: datetime
    reapplies_request_id: int | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "v": LEDGER_VERSION,
            "company_id": self.company_id,
            "request_id": self.request_id,
            "origin": self.origin,
            "visitor_ref": self.visitor_ref,
            "token_ref": self.token_ref,
            "executed_at": self.executed_at.isoformat(),
            "reapplies_request_id": self.reapplies_request_id,
        }

    def line(self) -> bytes:
        payload = self.payload()
        return canonical_json({**payload, "mac": _mac(payload)}) + b"\n"


def ledger_record(
    *,
    company_id: int,
    request_id: int,
    origin: str,
    visitor_id: int,
    token_hash: str,
    executed_at: datetime,
    reapplies_request_id: int | None = None,
) -> LedgerRecord:
    """The pseudonymous record of one erasure (the caller still has the visitor's id and hash)."""
    return LedgerRecord(
        company_id=company_id,
        request_id=request_id,
        origin=origin,
        visitor_ref=visitor_ref(company_id=company_id, visitor_id=visitor_id),
        token_ref=token_ref(company_id=company_id, token_hash=token_hash),
        executed_at=executed_at,
        reapplies_request_id=reapplies_request_id,
    )


def ledger_append(*, record: LedgerRecord, path: Path | None = None) -> None:
    """Append one line to the ledger file, durably (flock, write, fsync), or raise LedgerError.

    Only the default location under var/ is created when missing; a configured
    path must already have its directory, so a missing mount is an error and
    not a ledger silently written to the local disk.
    """
    target = path or ledger_path()
    try:
        if target.parent == Path(settings.VAR_DIR) and not target.parent.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = record.line()
            if os.write(fd, data) != len(data):
                raise OSError("short write")
            os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the lock
    except OSError as exc:
        raise LedgerError(
            f"cannot append to the erasure ledger {target}: {exc.strerror or exc}"
        ) from None


def _parse_line(raw: bytes, *, where: str) -> LedgerRecord:
    try:
        data = json.loads(raw)
    except ValueError:
        raise LedgerError(f"{where}: not JSON") from None
    if not isinstance(data, dict) or set(data) != LEDGER_KEYS or data["v"] != LEDGER_VERSION:
        raise LedgerError(f"{where}: not a ledger entry of version {LEDGER_VERSION}")
    mac = data.pop("mac")
    if not isinstance(mac, str) or not hmac.compare_digest(_mac(data), mac):
        raise LedgerError(
            f"{where}: signature does not verify (changed, or another BLIND_INDEX_KEY)"
        )
    executed_at = (
        parse_datetime(data["executed_at"]) if isinstance(data["executed_at"], str) else None
    )
    if executed_at is None or executed_at.tzinfo is None:
        raise LedgerError(f"{where}: executed_at is not a time with a zone")
    return LedgerRecord(
        company_id=int(data["company_id"]),
        request_id=int(data["request_id"]),
        origin=str(data["origin"]),
        visitor_ref=str(data["visitor_ref"]),
        token_ref=str(data["token_ref"]),
        executed_at=executed_at,
        reapplies_request_id=data["reapplies_request_id"],
    )


def ledger_read(*, path: Path) -> list[LedgerRecord]:
    """Every entry of a ledger file, in file order; LedgerError names the first bad line."""
    records = []
    try:
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if raw.strip():
                    records.append(_parse_line(raw, where=f"{path} line {number}"))
    except OSError as exc:
        raise LedgerError(f"cannot read the erasure ledger {path}: {exc.strerror or exc}") from None
    return records
