import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from retention.services.erasure import receipt_verify


class Command(BaseCommand):
    help = (
        "Check an erasure receipt (JSON file, or - for stdin) against this server's "
        "signing key. Prints one line; exits 0 if valid, 1 if not. Deletes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The receipt JSON file, or - for stdin.")

    def handle(self, *args, **options) -> None:
        try:
            text = (
                sys.stdin.read()
                if options["file"] == "-"
                else Path(options["file"]).read_text(encoding="utf-8")
            )
            document = json.loads(text)
        except (OSError, ValueError) as exc:
            self.stdout.write(f"invalid: cannot read a JSON receipt ({type(exc).__name__})")
            sys.exit(1)
        if receipt_verify(document):
            receipt = document["receipt"]
            self.stdout.write(
                f"valid: erasure request {receipt['request_id']} of company "
                f"{receipt['company_id']}, executed {receipt['executed_at']}"
            )
            return
        self.stdout.write("invalid: the signature does not match this receipt")
        sys.exit(1)
