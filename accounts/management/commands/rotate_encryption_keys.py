"""Re-encrypt every encrypted column with the first FIELD_ENCRYPTION_KEY.

Rotation: put the new key first in FIELD_ENCRYPTION_KEY and keep the old ones
after it on EVERY process (web, worker, beat), then run this command, then drop
the old keys. The work and its invariants live in chatbot_site/lib/keyrotation.py.
"""

from django.core.management.base import BaseCommand, CommandError

from chatbot_site.lib.crypto import EncryptionKeyError
from chatbot_site.lib.keyrotation import BATCH_SIZE, KeyRotationError, encryption_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column (message bodies, visitors' contact details, the "
        "key sentinel) with the first key of FIELD_ENCRYPTION_KEY. Deletes nothing; a value "
        "changed by someone else while it runs is re-read, never overwritten."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, batch_size: int, no_progress: bool, **options) -> None:
        try:
            summary = encryption_keys_rotate(batch_size=batch_size, progress=not no_progress)
        except (KeyRotationError, EncryptionKeyError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {summary.rewritten} values with the first key; "
                f"{summary.current} already were; {summary.changed_meanwhile} changed "
                "while the rotation ran and were re-read."
            )
        )
