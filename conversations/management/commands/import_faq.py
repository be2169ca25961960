"""import_faq: read a JSON or CSV FAQ file into one inbox, all of it or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from conversations.faq_io import FORMATS, FaqImportError, faq_import, format_for_name
from conversations.selectors.visitors import inbox_get_by_public_key


class Command(BaseCommand):
    help = (
        "Import FAQ entries from FILE (JSON or CSV, see conversations/faq_io.py) into the inbox "
        "with this public key. All or nothing: any error leaves the FAQ unchanged and prints one "
        "line naming the row or entry. --replace deletes the inbox's current entries first (in "
        "the same transaction). Written to the audit log as faq.imported (counts only)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--inbox", required=True, metavar="PUBLIC_KEY")
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--replace", action="store_true", help="Delete current entries first.")
        parser.add_argument(
            "--format", choices=FORMATS, help="json or csv (default: the file's extension)."
        )

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        fmt = options["format"] or format_for_name(path.name)
        if fmt is None:
            raise CommandError("Unknown file format: use a .json or .csv file, or --format.")
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
        inbox = inbox_get_by_public_key(public_key=options["inbox"])
        if inbox is None:
            raise CommandError("No inbox with this public key.")
        try:
            result = faq_import(inbox=inbox, data=data, fmt=fmt, replace=options["replace"])
        except FaqImportError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Imported {result.entries} entries ({result.variants} question variants) "
            f"into inbox {inbox.pk}; deleted {result.deleted}; {result.seconds:.2f} s."
        )
