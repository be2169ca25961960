"""Tokens, token hashes, blind indexes, signatures, and the field-encryption keys.

Invariants:
- the server stores only hashes of bearer tokens and only keyed HMACs (blind
  indexes) of personal values it must look up; never the values themselves;
- a value read from the database that no key of FIELD_ENCRYPTION_KEY decrypts
  raises UndecryptableValue; it is never handed back as if the ciphertext were
  the text (django-encrypted-model-fields does that by default; apps.ready
  installs strict_from_db_value in its place);
- a process whose keys cannot decrypt the data does not run:
  encryption_keys_check() decrypts a sample of every encrypted column and the
  key sentinel, and the web, the Celery worker and beat call it at start-up,
  the retention run before each run.

The rule for the key sentinel (accounts.EncryptionSentinel, one row): its
plaintext is SENTINEL, followed by the fingerprints of the keys that rotations
have retired. A key rotation (chatbot_site/lib/keyrotation.py) re-encrypts the
sentinel first, with the new first key, and adds the previous key's
fingerprint to that list. A process is refused when
- no key of its list decrypts the sentinel, or any sampled value; or
- its FIRST key (the one it encrypts with) is a retired key: it runs on the
  key list from before a rotation and would write data under a key that is
  about to be dropped.
A process whose first key is newer than the sentinel's (the new key list is
deployed, the rotation has not run yet) is allowed: that is the first step of
a rotation. Hence the order: put the new key list (new key first, old keys
after it) on every process, then rotate, then drop the old key.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.db import connections
from encrypted_model_fields import fields as library
from encrypted_model_fields.fields import EncryptedMixin


def new_token() -> str:
    """A random bearer token for the browser (256 bits)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def blind_index(value: str) -> str:
    """HMAC of a normalised value, so an encrypted column can still be looked up."""
    normalised = value.strip().casefold()
    return hmac.new(settings.BLIND_INDEX_KEY.encode(), normalised.encode(), "sha256").hexdigest()


def derived_key(label: str) -> bytes:
    """A key for one purpose, derived from BLIND_INDEX_KEY: HMAC-SHA256(key, label).

    Separate labels give unrelated keys ("hafen-search:<company id>" is one
    company's search key), so a hash made for one purpose never matches one
    made for another, and no second secret has to be configured.
    """
    return _derived_key(settings.BLIND_INDEX_KEY, label)


@functools.lru_cache(maxsize=1024)
def _derived_key(secret: str, label: str) -> bytes:
    return hmac.new(secret.encode(), label.encode(), "sha256").digest()


def canonical_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(payload: dict[str, Any]) -> str:
    key = settings.RECEIPT_SIGNING_KEY.encode()
    return hmac.new(key, canonical_json(payload), "sha256").hexdigest()


def verify(payload: dict[str, Any], signature: str) -> bool:
    return hmac.compare_digest(sign(payload), signature or "")


RECEIPT_KEY_LABEL = "hafen-receipt:"


def company_receipt_key(company_id: int) -> bytes:
    """One company's receipt signing key: HMAC-SHA256(RECEIPT_SIGNING_KEY, "hafen-receipt:<id>").

    Derived, not stored: one configured secret, and a receipt of one company
    never verifies under another company's key (each tenant checks only its own).
    """
    secret = settings.RECEIPT_SIGNING_KEY.encode()
    return hmac.new(secret, f"{RECEIPT_KEY_LABEL}{company_id}".encode(), "sha256").digest()


def sign_with_key(key: bytes, payload: dict[str, Any]) -> str:
    """HMAC-SHA256 (hex) of the canonical JSON of `payload` under `key`."""
    return hmac.new(key, canonical_json(payload), "sha256").hexdigest()


# --- field encryption keys ----------------------------------------------------

SENTINEL_MODEL = "accounts.EncryptionSentinel"
SENTINEL_RETIRED_PREFIX = "\nretired:"
# How many rows from each end of a table's primary key the key check looks at,
# and how many non-empty values of each column it decrypts from each end.
SAMPLE_WINDOW = 50
SAMPLE_PER_END = 3


class EncryptionKeyError(Exception):
    """FIELD_ENCRYPTION_KEY does not fit the data in the database; the message is one line."""


class UndecryptableValue(EncryptionKeyError):
    """A value read from the database that no key of FIELD_ENCRYPTION_KEY decrypts."""

    def __init__(self, *, field: str) -> None:
        self.field = field
        super().__init__(
            f"{field}: a value in the database cannot be decrypted with any key of "
            "FIELD_ENCRYPTION_KEY (a key is missing from the list)"
        )


def field_keys() -> tuple[str, ...]:
    """The configured Fernet keys, the one that encrypts first."""
    keys = settings.FIELD_ENCRYPTION_KEY
    if isinstance(keys, (str, bytes)):
        keys = [keys]
    return tuple(k.decode() if isinstance(k, bytes) else k for k in keys)


@functools.lru_cache(maxsize=8)
def _crypters(keys: tuple[str, ...]) -> tuple[MultiFernet, tuple[Fernet, ...]]:
    fernets = tuple(Fernet(k) for k in keys)
    return MultiFernet(list(fernets)), fernets


def field_crypter() -> MultiFernet:
    """All configured keys: the first encrypts, every one decrypts."""
    return _crypters(field_keys())[0]


def field_fernets() -> tuple[Fernet, ...]:
    """One Fernet per configured key, in the configured order."""
    return _crypters(field_keys())[1]


def key_fingerprint(key: str) -> str:
    """A short, non-reversible name for a key (kept only inside the encrypted sentinel)."""
    return hashlib.sha256(b"hafen-key-fingerprint:" + key.encode()).hexdigest()[:16]


def strict_from_db_value(self: EncryptedMixin, value: Any, expression: Any, connection: Any) -> Any:
    """EncryptedMixin.from_db_value that raises UndecryptableValue instead of returning ciphertext.

    '' and NULL are read as they are (a withdrawal writes '' in SQL). The
    plaintext goes to the plain field's to_python, not to the library's, which
    would try to decrypt it a second time.
    """
    if value is None or value == "":
        return super(EncryptedMixin, self).to_python(value)
    if isinstance(value, bytes):
        value = value.decode()
    try:
        plain = field_crypter().decrypt(value.encode()).decode()
    except InvalidToken:
        model = getattr(self, "model", None)
        where = f"{model._meta.label}.{self.name}" if model is not None else str(self.name)
        raise UndecryptableValue(field=where) from None
    return super(EncryptedMixin, self).to_python(plain)


def install_strict_reads() -> None:
    """Make every encrypted field raise on a value no key decrypts (idempotent).

    from_db_value only, not to_python: the library also runs to_python on
    plaintext from forms, where "not a token" is the normal case.
    """
    EncryptedMixin.from_db_value = strict_from_db_value


def sync_library_crypter(*, setting: str, **kwargs) -> None:
    """setting_changed receiver: the library builds its crypter once, at import.

    Tests that override FIELD_ENCRYPTION_KEY must encrypt with the overriding
    keys too, as a process started with them would.
    """
    if setting != "FIELD_ENCRYPTION_KEY":
        return
    library.CRYPTER = library.get_crypter()


@dataclass(frozen=True)
class EncryptedColumn:
    label: str  # "app.Model.field", for messages
    table: str
    column: str
    pk: str


def encrypted_columns() -> list[EncryptedColumn]:
    """Every encrypted column of every installed (concrete, managed) model; the sentinel first."""
    found = []
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        for field in meta.concrete_fields:
            if isinstance(field, EncryptedMixin):
                found.append(
                    EncryptedColumn(
                        label=f"{meta.label}.{field.name}",
                        table=meta.db_table,
                        column=field.column,
                        pk=meta.pk.column,
                    )
                )
    return sorted(
        found, key=lambda c: (not c.label.startswith(SENTINEL_MODEL + "."), c.table, c.column)
    )


def _sentinel_base() -> str:
    # Through the app registry: lib sits below the apps and imports none of them.
    return apps.get_model(SENTINEL_MODEL).SENTINEL


def sentinel_parse(plain: str) -> list[str] | None:
    """The retired key fingerprints in a sentinel's plaintext; None when it is not a sentinel."""
    head, sep, tail = plain.partition(SENTINEL_RETIRED_PREFIX)
    if head != _sentinel_base():
        return None
    return [fp for fp in tail.split(",") if fp] if sep else []


def sentinel_text(*, retired: list[str]) -> str:
    """The sentinel's plaintext with these retired fingerprints."""
    if not retired:
        return _sentinel_base()
    return _sentinel_base() + SENTINEL_RETIRED_PREFIX + ",".join(retired)


def _decrypting_key_index(token: str) -> int | None:
    for index, fernet in enumerate(field_fernets()):
        try:
            fernet.decrypt(token.encode())
        except InvalidToken:
            continue
        return index
    return None


def _sample(
    cursor: Any, column: EncryptedColumn, qn: Callable[[str], str]
) -> list[tuple[Any, str]]:
    """(pk, value) of up to SAMPLE_PER_END non-empty values among the newest and the
    oldest SAMPLE_WINDOW rows; the windows come from the primary-key index."""
    rows: list[tuple[Any, str]] = []
    table, col, pk = qn(column.table), qn(column.column), qn(column.pk)
    for direction in ("DESC", "ASC"):
        cursor.execute(
            f"SELECT {pk}, {col} FROM {table} WHERE {pk} IN "  # noqa: S608 (names from the app registry)
            f"(SELECT {pk} FROM {table} ORDER BY {pk} {direction} LIMIT %s) "
            f"AND {col} IS NOT NULL AND {col} <> '' ORDER BY {pk} {direction} LIMIT %s",
            [SAMPLE_WINDOW, SAMPLE_PER_END],
        )
        rows.extend(cursor.fetchall())
    return rows


def encryption_keys_check(*, using: str = "default") -> None:
    """Raise EncryptionKeyError (one line) unless this process's keys fit the data.

    Decrypts the key sentinel and a sample of every encrypted column (the
    newest and the oldest few non-empty values, found through the primary-key
    index: a few milliseconds), and refuses a first key that a rotation has
    retired (see the module docstring). Tables that are not migrated yet are
    skipped. Database errors propagate: "cannot tell" is not "fine".
    """
    connection = connections[using]
    qn = connection.ops.quote_name
    columns = encrypted_columns()
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        for column in columns:
            if column.table not in tables:
                continue
            if column.label.startswith(SENTINEL_MODEL + "."):
                _check_sentinel(cursor, column, qn)
            for pk, value in _sample(cursor, column, qn):
                if isinstance(value, bytes):
                    value = value.decode()
                if _decrypting_key_index(value) is None:
                    raise EncryptionKeyError(
                        f"FIELD_ENCRYPTION_KEY cannot decrypt the data in this database: "
                        f"{column.label} (row {pk}) cannot be decrypted with any configured key"
                    )


def _check_sentinel(cursor: Any, column: EncryptedColumn, qn: Callable[[str], str]) -> None:
    cursor.execute(
        f"SELECT {qn(column.column)} FROM {qn(column.table)} "  # noqa: S608
        f"ORDER BY {qn(column.pk)} LIMIT 1"
    )
    row = cursor.fetchone()
    if row is None or not row[0]:
        return  # not written yet: the first migration writes it
    token = row[0].decode() if isinstance(row[0], bytes) else row[0]
    index = _decrypting_key_index(token)
    if index is None:
        raise EncryptionKeyError(
            "FIELD_ENCRYPTION_KEY cannot decrypt the data in this database "
            "(the key sentinel): set the keys this database was encrypted with"
        )
    retired = sentinel_parse(field_fernets()[index].decrypt(token.encode()).decode())
    if retired is None:
        raise EncryptionKeyError(
            "FIELD_ENCRYPTION_KEY cannot decrypt the data in this database "
            "(the key sentinel holds something else)"
        )
    if key_fingerprint(field_keys()[0]) in retired:
        raise EncryptionKeyError(
            "The first key of FIELD_ENCRYPTION_KEY was retired by a key rotation: "
            "this process runs on an old key list; deploy the current one (new key first)"
        )


class DuplicateKey(ValueError):
    """A JSON object names one key twice."""


def json_loads_strict(text: str) -> Any:
    """json.loads that refuses an object with a duplicated key (DuplicateKey, a ValueError).

    A document whose reader keeps the last of two equal keys can show one
    value while its signature covers the other; signed documents (erasure
    receipts) are read with this.
    """

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise DuplicateKey(f"duplicate key {key!r}")
            result[key] = value
        return result

    return json.loads(text, object_pairs_hook=pairs)
