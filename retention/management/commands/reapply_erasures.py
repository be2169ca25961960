"""Erase again, after a database restore, everyone the erasure ledger says was erased."""

from datetime import UTC
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from retention.services.ledger import LedgerError, ledger_path, ledger_read
from retention.services.reapply import erasures_reapply


class Command(BaseCommand):
    help = (
        "Run this after restoring a database backup. Reads the erasure ledger file "
        "(HAFEN_ERASURE_LEDGER_PATH, or each --ledger FILE) and ERASES AGAIN every visitor "
        "whose erasure was executed at or after --since (the time the backup was taken): "
        "their conversations, messages, contact details, consent records and the audit "
        "entries about them, through the normal erasure service, each with a new signed "
        "receipt (origin 'restore') and a new ledger entry. Visitors already gone are "
        "counted, not an error; running it twice erases nothing the second time. "
        "Exits non-zero on an unparseable time, an unreadable or tampered ledger, or when "
        "a legal hold blocked a visitor. --dry-run only counts."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--since",
            required=True,
            metavar="ISO-TIME",
            help="When the restored backup was taken, e.g. 2026-12-01T03:00:00+00:00 "
            "(a time without zone is taken as UTC). Take it a little early: "
            "re-applying an older erasure does no harm.",
        )
        parser.add_argument(
            "--ledger",
            action="append",
            metavar="FILE",
            help="A ledger file to read (repeat for one file per host). "
            "Default: HAFEN_ERASURE_LEDGER_PATH.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say whom it would erase; change nothing."
        )

    def handle(self, *args, **options) -> None:
        try:
            since = parse_datetime(options["since"].strip())
        except ValueError:
            since = None
        if since is None:
            raise CommandError(
                f"--since {options['since']!r} is not an ISO time (e.g. 2026-12-01T03:00:00Z)."
            )
        if timezone.is_naive(since):
            since = timezone.make_aware(since, UTC)
        paths = [Path(p) for p in options["ledger"] or [ledger_path()]]
        try:
            records = [record for path in paths for record in ledger_read(path=path)]
        except LedgerError as exc:
            raise CommandError(str(exc)) from None
        report = erasures_reapply(records=records, since=since, dry_run=options["dry_run"])
        for ledger_request, visitor_id in report.would_erase:
            self.stdout.write(f"would erase visitor {visitor_id} (ledger request {ledger_request})")
        for ledger_request, new_request in report.erased:
            self.stdout.write(
                f"erased again: ledger request {ledger_request} -> request {new_request}"
            )
        for ledger_request, code in report.blocked:
            self.stderr.write(f"NOT erased: ledger request {ledger_request}: {code}")
        verb = "would erase" if options["dry_run"] else "erased again"
        count = len(report.would_erase) if options["dry_run"] else len(report.erased)
        self.stdout.write(
            f"{report.entries} ledger entries since {since.isoformat()}: {verb} {count}, "
            f"{report.already_gone} already gone, {len(report.blocked)} blocked"
        )
        if report.blocked:
            raise CommandError(
                f"{len(report.blocked)} visitors not erased (legal hold?); resolve and run again."
            )
