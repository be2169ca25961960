"""Canary checks: every row of every table as text, to prove a value is nowhere."""

from django.apps import apps
from django.db import connection


def raw_table_text() -> str:
    """Every row of every table as the database holds it (ciphertext stays ciphertext)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                chunks.append(" ".join(str(v) for v in row))
    return "\n".join(chunks)


def decrypted_and_raw_text() -> str:
    """The raw dump plus every model's rows read through the ORM (decrypted)."""
    parts = [str(list(model._base_manager.values())) for model in apps.get_models()]
    return "\n".join([*parts, raw_table_text()])
