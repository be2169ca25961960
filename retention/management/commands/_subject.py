"""Finding the data subject for erase_visitor and export_visitor."""

from django.core.management.base import CommandError, CommandParser

from accounts.models import Company
from conversations.models import Visitor
from retention import selectors


def add_subject_arguments(parser: CommandParser) -> None:
    parser.add_argument("--company", required=True, metavar="SLUG", help="The company's slug.")
    found = parser.add_mutually_exclusive_group(required=True)
    found.add_argument("--visitor-id", type=int, help="The visitor's id.")
    found.add_argument(
        "--conversation", metavar="REFERENCE", help="A conversation reference the visitor holds."
    )
    found.add_argument("--email", help="The e-mail address they left (looked up by blind index).")


def find_subject(options: dict) -> Visitor:
    company = Company.objects.filter(slug=options["company"]).first()
    if company is None:
        raise CommandError(f"No company with the slug {options['company']!r}.")
    if options.get("visitor_id") is not None:
        visitor = selectors.visitor_get(company=company, visitor_id=options["visitor_id"])
        visitors = [visitor] if visitor else []
    elif options.get("conversation"):
        visitors = selectors.visitors_find(
            company=company, kind="reference", value=options["conversation"]
        )
    else:
        visitors = selectors.visitors_find(company=company, kind="email", value=options["email"])
    if not visitors:
        raise CommandError("No visitor of this company matches.")
    if len(visitors) > 1:
        ids = ", ".join(str(v.pk) for v in visitors)
        raise CommandError(
            f"{len(visitors)} visitors match (ids {ids}); name one with --visitor-id."
        )
    return visitors[0]
