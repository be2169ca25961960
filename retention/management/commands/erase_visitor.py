"""erase_visitor: find the subject, confirm, erase through the service, print the receipt."""

import json

from django.core.management.base import BaseCommand, CommandError

from retention.management.commands._subject import add_subject_arguments, find_subject
from retention.selectors import erasure_preview
from retention.services.erasure import ErasureError
from retention.services.subject import subject_erase_now


class Command(BaseCommand):
    help = (
        "Erase one visitor now (Art. 17 GDPR), found by --visitor-id, --conversation "
        "REFERENCE or --email within --company. DELETES all their conversations and "
        "messages, their contact details (name, e-mail, phone) and their consent records; "
        "the audit entries about those rows are KEPT, pseudonymised as erased-subject-<request "
        "id> with no personal data (who accessed what, when). Then prints the signed receipt "
        "(JSON, counts only, no personal data). Refused while a conversation of theirs is "
        "under legal hold."
    )

    def add_arguments(self, parser) -> None:
        add_subject_arguments(parser)
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, **options) -> None:
        visitor = find_subject(options)
        preview = erasure_preview(visitor=visitor)
        if not options["yes"]:
            answer = input(
                f"Erase visitor {visitor.pk}: {preview.conversations} conversations, "
                f"{preview.messages} messages, {preview.consent_records} consent records? "
                "Type 'yes': "
            )
            if answer.strip().lower() != "yes":
                raise CommandError("Not confirmed; nothing was erased.")
        try:
            done = subject_erase_now(visitor=visitor)
        except ErasureError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(json.dumps(done.receipt, indent=2))
