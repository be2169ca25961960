"""Re-encrypt every encrypted column with the first FIELD_ENCRYPTION_KEY.

Rotation: put the new key first in FIELD_ENCRYPTION_KEY, keep the old ones after
it, deploy, run this command, then drop the old keys. Each batch is one
transaction; a value no configured key can decrypt stops the run (nothing is
ever encrypted twice).
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from encrypted_model_fields.fields import EncryptedMixin
from tqdm import tqdm

BATCH_SIZE = 1000


def encrypted_columns() -> list[tuple[str, str]]:
    """(table, column) of every encrypted field of every installed model."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedMixin):
                found.append((model._meta.db_table, field.column))
    return sorted(found)


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column (message bodies, visitors' contact details, the "
        "key sentinel) with the first key of FIELD_ENCRYPTION_KEY. Deletes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, batch_size: int, no_progress: bool, **options) -> None:
        crypter = MultiFernet([Fernet(k) for k in settings.FIELD_ENCRYPTION_KEY])
        qn = connection.ops.quote_name
        total = 0
        for table, column in encrypted_columns():
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM {qn(table)} WHERE {qn(column)} <> ''")
                count = cursor.fetchone()[0]
            bar = tqdm(total=count, desc=f"{table}.{column}", unit="row", disable=no_progress)
            last_id = 0
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT id, {qn(column)} FROM {qn(table)} WHERE id > %s "
                        f"AND {qn(column)} <> '' ORDER BY id LIMIT %s",
                        [last_id, batch_size],
                    )
                    rows = cursor.fetchall()
                    updates = []
                    for row_id, value in rows:
                        try:
                            updates.append((crypter.rotate(value.encode()).decode(), row_id))
                        except InvalidToken:
                            raise CommandError(
                                f"{table}.{column} row {row_id} cannot be decrypted with any "
                                "configured key; nothing after it was changed."
                            ) from None
                    cursor.executemany(
                        f"UPDATE {qn(table)} SET {qn(column)} = %s WHERE id = %s", updates
                    )
                if rows:
                    last_id = rows[-1][0]
                    bar.update(len(rows))
                    total += len(rows)
                if len(rows) < batch_size:
                    break
            bar.close()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} values with the first key."))
