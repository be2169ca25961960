"""export_visitor: find the subject, export through the service, write the JSON."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from retention.management.commands._subject import add_subject_arguments, find_subject
from retention.services.export import visitor_export


class Command(BaseCommand):
    help = (
        "Export everything held about one visitor (Art. 15 / 20 GDPR) as JSON: contact "
        "details, conversations with their messages, consent records and which teams opened "
        "the conversations. Deletes nothing. The export is written to the audit log (counts "
        "only). Writes to stdout, or to --output FILE."
    )

    def add_arguments(self, parser) -> None:
        add_subject_arguments(parser)
        parser.add_argument("--output", metavar="FILE", help="Write the JSON to this file.")

    def handle(self, *args, **options) -> None:
        visitor = find_subject(options)
        data = visitor_export(visitor=visitor, actor=None, output="command")
        text = json.dumps(data, indent=2, ensure_ascii=False)
        if options["output"]:
            Path(options["output"]).write_text(text + "\n", encoding="utf-8")
            self.stderr.write(f"Wrote {options['output']}")
        else:
            self.stdout.write(text)
