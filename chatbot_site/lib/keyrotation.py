"""Key rotation: re-encrypt every encrypted column with the first key of FIELD_ENCRYPTION_KEY.

Invariants:
- a value is written back only while the column still holds the ciphertext
  that was read (compare-and-set per row and column: ``UPDATE ... WHERE pk = %s
  AND col = <ciphertext read>``). A withdrawal or an erasure that commits
  during the rotation stays done: a row that changed is re-read and rotated
  from its new value, never overwritten with the old one;
- nothing is encrypted twice: a value is decrypted with the configured keys and
  encrypted with the first; a value no key decrypts stops the run
  (KeyRotationError); each batch is one transaction, so a stopped run keeps
  the batches before it and can simply be run again;
- a value already under the first key is left as it is, so a second run
  rewrites only what processes on an old key list wrote in the meantime;
- the key sentinel is rotated first, and the key it was under goes into its
  list of retired keys: from then on a process whose first key is that old key
  is refused (chatbot_site.lib.crypto.encryption_keys_check).

Works on PostgreSQL and SQLite; batches select by primary key with LIMIT and
no OFFSET.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken
from django.db import OperationalError, connection, transaction
from tqdm import tqdm

from chatbot_site.lib.crypto import (
    SENTINEL_MODEL,
    EncryptedColumn,
    encrypted_columns,
    encryption_keys_check,
    field_crypter,
    field_fernets,
    field_keys,
    key_fingerprint,
    sentinel_parse,
    sentinel_text,
)

BATCH_SIZE = 1000
# Rounds of "re-read the rows that changed under us and try again" per batch.
MAX_ROUNDS = 20
# Tries of a batch that PostgreSQL aborted as a deadlock victim.
MAX_BATCH_TRIES = 5
# How many retired key fingerprints the sentinel keeps.
RETIRED_KEPT = 32


class KeyRotationError(Exception):
    """The rotation cannot go on; the message is one line, without any value."""


@dataclass(frozen=True)
class RotationSummary:
    rewritten: int  # values re-encrypted with the first key
    current: int  # values that already were under the first key
    changed_meanwhile: int  # values written by someone else between our read and our write

    @property
    def total(self) -> int:
        return self.rewritten + self.current


def encryption_keys_rotate(
    *, batch_size: int = BATCH_SIZE, progress: bool = True
) -> RotationSummary:
    """Re-encrypt every non-empty encrypted value with the first configured key.

    Refuses to start when the keys do not fit the data (EncryptionKeyError).
    Shows one tqdm bar per column unless progress is False.
    """
    if batch_size < 1:
        raise KeyRotationError("The batch size must be at least 1.")
    encryption_keys_check()
    totals: Counter = Counter()
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    for column in encrypted_columns():
        if column.table not in tables:
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM {qn(column.table)} "  # noqa: S608 (names from the registry)
                f"WHERE {qn(column.column)} <> ''"
            )
            count = cursor.fetchone()[0]
        bar = tqdm(total=count, desc=column.label, unit="value", disable=not progress)
        try:
            _rotate_column(column=column, batch_size=batch_size, bar=bar, totals=totals)
        finally:
            bar.close()
    return RotationSummary(
        rewritten=totals["rewritten"],
        current=totals["current"],
        changed_meanwhile=totals["changed"],
    )


def _rotate_column(*, column: EncryptedColumn, batch_size: int, bar: tqdm, totals: Counter) -> None:
    qn = connection.ops.quote_name
    table, col, pk = qn(column.table), qn(column.column), qn(column.pk)
    last_pk: Any = None
    while True:
        after = f"{pk} > %s AND " if last_pk is not None else ""
        params = [last_pk] if last_pk is not None else []
        for attempt in range(1, MAX_BATCH_TRIES + 1):
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT {pk}, {col} FROM {table} WHERE {after}"  # noqa: S608
                        f"{col} <> '' ORDER BY {pk} LIMIT %s",
                        [*params, batch_size],
                    )
                    rows = cursor.fetchall()
                    counts = _rotate_rows(cursor=cursor, column=column, rows=rows)
                break
            except OperationalError as exc:
                if attempt == MAX_BATCH_TRIES or not _is_transient(exc):
                    raise
        totals.update(counts)
        if rows:
            last_pk = rows[-1][0]
            bar.update(len(rows))
        if len(rows) < batch_size:
            return


def _rotate_rows(*, cursor, column: EncryptedColumn, rows: list[tuple[Any, Any]]) -> Counter:
    """Compare-and-set every value of `rows` to its re-encryption, re-reading lost races."""
    qn = connection.ops.quote_name
    table, col, pk = qn(column.table), qn(column.column), qn(column.pk)
    counts: Counter = Counter()
    pending = [(row_pk, _text(value)) for row_pk, value in rows]
    for _round in range(MAX_ROUNDS):
        writes = []  # (new ciphertext, pk, ciphertext read)
        for row_pk, token in pending:
            if not token:
                continue  # emptied meanwhile (a withdrawal): nothing to rotate
            new = _reencrypt(column=column, row_pk=row_pk, token=token)
            if new is None:
                counts["current"] += 1
            else:
                writes.append((new, row_pk, token))
        if not writes:
            return counts
        cursor.executemany(
            f"UPDATE {table} SET {col} = %s WHERE {pk} = %s AND {col} = %s",  # noqa: S608
            writes,
        )
        if cursor.rowcount == len(writes):
            counts["rewritten"] += len(writes)
            return counts
        # Some rows changed between our read and our write: our UPDATE left them
        # alone. Read what they hold now (committed) and rotate that instead.
        placeholders = ", ".join(["%s"] * len(writes))
        cursor.execute(
            f"SELECT {pk}, {col} FROM {table} WHERE {pk} IN ({placeholders})",  # noqa: S608
            [row_pk for _new, row_pk, _old in writes],
        )
        now = {row_pk: _text(value) for row_pk, value in cursor.fetchall()}
        pending = []
        for new, row_pk, _old in writes:
            value = now.get(row_pk)
            if value == new:
                counts["rewritten"] += 1
            else:
                counts["changed"] += 1
                if value:  # None: deleted meanwhile; "": emptied meanwhile
                    pending.append((row_pk, value))
        if not pending:
            return counts
    raise KeyRotationError(f"{column.label}: rows kept changing during the rotation; run it again.")


def _reencrypt(*, column: EncryptedColumn, row_pk: Any, token: str) -> str | None:
    """The value encrypted with the first key; None when it already is."""
    fernets = field_fernets()
    try:
        fernets[0].decrypt(token.encode())
    except InvalidToken:
        pass
    else:
        return None
    if column.label.startswith(SENTINEL_MODEL + "."):
        return _reencrypt_sentinel(token=token)
    try:
        return field_crypter().rotate(token.encode()).decode()
    except InvalidToken:
        raise KeyRotationError(
            f"{column.label} row {row_pk} cannot be decrypted with any configured key; "
            "nothing after it was changed."
        ) from None


def _reencrypt_sentinel(*, token: str) -> str:
    """The sentinel under the first key, the key it was under added to its retired list."""
    keys, fernets = field_keys(), field_fernets()
    for index, fernet in enumerate(fernets):
        try:
            plain = fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            continue
        retired = sentinel_parse(plain)
        if retired is None:
            raise KeyRotationError("The key sentinel holds something else; nothing was changed.")
        old = key_fingerprint(keys[index])
        if old not in retired:
            retired.append(old)
        return fernets[0].encrypt(sentinel_text(retired=retired[-RETIRED_KEPT:]).encode()).decode()
    raise KeyRotationError("The key sentinel cannot be decrypted with any configured key.")


def _text(value: Any) -> str:
    if value is None:
        return ""
    return bytes(value).decode() if isinstance(value, (bytes, memoryview)) else value


def _is_transient(exc: OperationalError) -> bool:
    """A deadlock victim or a serialization failure: the batch can simply run again."""
    return getattr(exc.__cause__, "sqlstate", None) in {"40P01", "40001"}
