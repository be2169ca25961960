"""verify_receipt: read the file, let the service check it, print its one line."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from retention.services.receipts import receipt_check, receipt_unreadable


class Command(BaseCommand):
    help = (
        "Check an erasure receipt (JSON file, or - for stdin) against this server's "
        "signing key (the receipt's company's derived key). Prints one line; exits 0 "
        "if valid, 1 if not. Deletes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The receipt JSON file, or - for stdin.")
        parser.add_argument(
            "--company",
            type=int,
            default=None,
            help="Refuse the receipt unless it was issued for this company (id).",
        )

    def handle(self, *args, **options) -> None:
        try:
            text = (
                sys.stdin.read()
                if options["file"] == "-"
                else Path(options["file"]).read_text(encoding="utf-8")
            )
        except (OSError, ValueError) as exc:
            check = receipt_unreadable(exc)
        else:
            check = receipt_check(text, company_id=options["company"])
        self.stdout.write(check.line)
        if not check.valid:
            sys.exit(1)
