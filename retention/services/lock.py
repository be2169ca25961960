"""The per-company retention lock: one run per company at a time, never outliving its holder.

Invariant: while a run holds its company's lock no other run of that company
deletes or strips anything, and a holder that dies (SIGKILL, OOM killer, a lost
host) stops blocking its company within a few minutes at most, without anyone
cleaning up after it.

Why two implementations:

- PostgreSQL (production, CI): a session-level advisory lock,
  pg_try_advisory_lock(LOCK_CLASS, company_id), taken on the very connection
  that runs the batches. The server releases it when that session ends: a
  killed worker's socket is closed by the kernel, its backend notices at once
  when idle, else when the statement it is running ends (a statement waiting on
  a row lock first gets it; client_connection_check_interval shortens that), and
  exits, and the lock is free. There is no TTL to guess and nothing to renew, and a holder that
  lost its connection has lost the lock with it, so it cannot go on writing
  under a lease someone else has taken (renew() checks the connection is still
  the one that took the lock). A host that vanishes without closing its socket
  is bounded by the server's TCP keepalives (tcp_keepalives_idle and friends).
  Needs a direct or session-pooled connection: a transaction-pooling proxy
  (pgbouncer pool_mode=transaction) would hand the session to someone else.
- Elsewhere (SQLite, the embedded run): a cache lease, cache.add (SET NX on
  Redis) with a short LEASE_TTL, renewed after every batch (and every chunk of
  messages inside a strip batch). A dead holder blocks its company for at most
  LEASE_TTL. The cache API has no compare-and-set, so renewal is read, compare,
  touch: a lease that expired between the read and the touch could have been
  taken by another run; batches select their rows FOR UPDATE (on SQLite writes
  are serialised anyway) and are idempotent, so an overlap costs repeated work,
  never wrong data. A renewal that finds another holder's token raises LockLost
  and the run stops.

Re-entrancy: PostgreSQL advisory locks stack within one session, so two runs in
one thread (one database connection) would both get the lock; runs in
different threads or processes have their own connections and exclude each other.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

# pg_advisory_lock(int4, int4): the first number names the lock's purpose, so
# other advisory locks of the application cannot collide with these.
LOCK_CLASS = 0x48524554  # "HRET"
LEASE_TTL = 3 * 60  # seconds a cache lease lives without renewal (non-PostgreSQL only)


class LockLost(Exception):
    """The run no longer holds its company's lock (its lease expired or its connection changed)."""


def lease_key(company_id: int) -> str:
    return f"hafen:retention-lock:{company_id}"


def advisory_key(company_id: int) -> tuple[int, int]:
    if not 0 < company_id < 2**31:
        raise ValueError("a company id outside int4 cannot name an advisory lock")
    return (LOCK_CLASS, company_id)


@dataclass
class CompanyLock:
    """A held lock; renew() after every batch, release() when the run ends."""

    company_id: int
    kind: str  # "advisory" or "lease"
    token: str = ""
    _raw_connection: Any = field(default=None, repr=False)

    def renew(self) -> None:
        """Raise LockLost unless this run still holds the lock; extend a lease."""
        if self.kind == "advisory":
            if connection.connection is not self._raw_connection:
                raise LockLost("the database session that held the lock is gone")
            return
        if cache.get(lease_key(self.company_id)) != self.token:
            raise LockLost("the lease expired and another run took it")
        cache.touch(lease_key(self.company_id), LEASE_TTL)

    def release(self) -> None:
        if self.kind == "advisory":
            if connection.connection is not self._raw_connection:
                return  # the session that held it is gone, and the lock with it
            try:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_unlock(%s, %s)", advisory_key(self.company_id)
                    )
            except DatabaseError:
                # A broken session: the server ends it, and the lock with it.
                logger.warning("retention lock of company %s: unlock failed", self.company_id)
            return
        if cache.get(lease_key(self.company_id)) == self.token:
            cache.delete(lease_key(self.company_id))


def uses_advisory_locks() -> bool:
    return connection.vendor == "postgresql"


def company_lock_acquire(*, company_id: int) -> CompanyLock | None:
    """Take the company's retention lock without waiting; None while another run holds it."""
    if uses_advisory_locks():
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", advisory_key(company_id))
            (taken,) = cursor.fetchone()
        if not taken:
            return None
        return CompanyLock(
            company_id=company_id, kind="advisory", _raw_connection=connection.connection
        )
    token = uuid.uuid4().hex
    if not cache.add(lease_key(company_id), token, LEASE_TTL):
        return None
    return CompanyLock(company_id=company_id, kind="lease", token=token)
