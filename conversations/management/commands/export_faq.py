"""export_faq: write one inbox's FAQ to stdout in the import format."""

from django.core.management.base import BaseCommand, CommandError

from conversations.faq_io import FORMATS, JSON, faq_export
from conversations.selectors.visitors import inbox_get_by_public_key


class Command(BaseCommand):
    help = (
        "Write the FAQ entries of the inbox with this public key to stdout, as JSON (default) "
        "or CSV (formula cells neutralised); import_faq reads either back. Changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--inbox", required=True, metavar="PUBLIC_KEY")
        parser.add_argument("--format", choices=FORMATS, default=JSON)

    def handle(self, *args, **options) -> None:
        inbox = inbox_get_by_public_key(public_key=options["inbox"])
        if inbox is None:
            raise CommandError("No inbox with this public key.")
        self.stdout.write(faq_export(inbox=inbox, fmt=options["format"]), ending="")
