"""The arguments that name a data subject, for erase_visitor and export_visitor.

Finding the subject is retention/services/subject.py; this only parses and
turns a refusal into a CommandError.
"""

from django.core.management.base import CommandError, CommandParser

from chatbot_site.lib.errors import ServiceError
from conversations.models import Visitor
from retention.services.subject import subject_find


def add_subject_arguments(parser: CommandParser) -> None:
    parser.add_argument("--company", required=True, metavar="SLUG", help="The company's slug.")
    found = parser.add_mutually_exclusive_group(required=True)
    found.add_argument("--visitor-id", type=int, help="The visitor's id.")
    found.add_argument(
        "--conversation", metavar="REFERENCE", help="A conversation reference the visitor holds."
    )
    found.add_argument("--email", help="The e-mail address they left (looked up by blind index).")


def find_subject(options: dict) -> Visitor:
    try:
        return subject_find(
            company_slug=options["company"],
            visitor_id=options.get("visitor_id"),
            reference=options.get("conversation"),
            email=options.get("email"),
        )
    except ServiceError as exc:
        if exc.code == "ambiguous":
            raise CommandError(f"{exc.message}; name one with --visitor-id.") from None
        raise CommandError(exc.message) from None
