"""System check: the configured encryption keys decrypt the sentinel row.

django-encrypted-model-fields hands back the ciphertext silently when a key is
wrong; this check turns that into a start-up error.
"""

from cryptography.fernet import InvalidToken, MultiFernet
from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import DatabaseError, connection


def _crypter() -> MultiFernet:
    from cryptography.fernet import Fernet

    return MultiFernet([Fernet(k) for k in settings.FIELD_ENCRYPTION_KEY])


@register(Tags.security, deploy=False)
def check_encryption_keys(app_configs=None, **kwargs) -> list[Error]:
    from accounts.models import EncryptionSentinel

    table = EncryptionSentinel._meta.db_table
    try:
        with connection.cursor() as cursor:
            if table not in connection.introspection.table_names(cursor):
                return []  # not migrated yet: the first migration writes the sentinel
            cursor.execute(f"SELECT value FROM {table} ORDER BY id LIMIT 1")  # noqa: S608
            row = cursor.fetchone()
    except DatabaseError:
        return []
    if row is None:
        return []
    try:
        plain = _crypter().decrypt(row[0].encode()).decode()
    except (InvalidToken, ValueError):
        plain = None
    if plain != EncryptionSentinel.SENTINEL:
        return [
            Error(
                "FIELD_ENCRYPTION_KEY cannot decrypt the data in this database.",
                hint="Set the key this database was encrypted with (keep old keys after the new "
                "one, comma-separated, when rotating).",
                id="hafen.E001",
            )
        ]
    return []
