"""purge_expired: the retention run of beat, by hand; the same service, to the end.

Parses its arguments, checks the keys, shows progress and prints totals; the
loop over a company's runs is retention/services/runs.py.
"""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from chatbot_site.lib.crypto import EncryptionKeyError, encryption_keys_check
from chatbot_site.lib.errors import ServiceError
from retention.services.runs import window_companies, window_preview, window_run_to_end


class Command(BaseCommand):
    help = (
        "Run the retention window now, for every company or one (--company). Per company, "
        "using its retention policy, it DELETES conversations whose last message is older "
        "than conversation_days (with their messages and lifted legal-hold records), "
        "DELETES visitors that have no conversation left and were not seen for "
        "personal_data_days (with their consent records), STRIPS personal data from every "
        "message older than personal_data_days, whoever wrote it and however new the rest "
        "of its conversation is (redacts e-mails, phone numbers, IBANs and card numbers), "
        "wipes the visitor's name, e-mail and phone and ends their resume token once none "
        "of their conversations is inside that window or held, and DELETES audit entries "
        "older than audit_days. "
        "Conversations under legal hold are never touched. Each run writes a summary shown "
        "on the retention page. --dry-run only counts. Exits with status 1 and one line on "
        "stderr when a company could not be run (unknown slug, its lock held by another "
        "run, encryption keys that do not fit the data) or its run failed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--company", metavar="SLUG", help="Only this company.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would go; change nothing."
        )

    def handle(self, *args, **options) -> None:
        try:
            companies = window_companies(slug=options["company"])
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        if not options["dry_run"]:
            try:
                encryption_keys_check()
            except EncryptionKeyError as exc:
                raise CommandError(f"Nothing was run: {_one_line(exc)}") from exc
        problems = []
        for company in companies:
            preview = window_preview(company=company)
            if options["dry_run"]:
                self.stdout.write(
                    f"{company.slug}: would delete {preview.conversations_to_delete} "
                    f"conversations ({preview.messages_to_delete} messages) and "
                    f"{preview.audit_entries_to_delete} audit entries, strip personal data "
                    f"from {preview.conversations_to_strip} conversations; "
                    f"{preview.held_conversations} held"
                )
                continue
            total = preview.conversations_to_delete + preview.conversations_to_strip
            with tqdm(
                total=total,
                desc=company.slug,
                unit="conv",
                disable=options["verbosity"] == 0 or total < 1000 or not self.stderr.isatty(),
                file=self.stderr,
            ) as bar:
                done = window_run_to_end(company=company, on_progress=bar.update)
            if done.run is not None:
                self.stdout.write(
                    f"{company.slug}: {done.run.outcome}: deleted {done.conversations_deleted} "
                    f"conversations ({done.messages_deleted} messages) and "
                    f"{done.audit_entries_deleted} audit entries, stripped "
                    f"{done.conversations_stripped} conversations"
                )
            if done.problem:
                problems.append(done.problem)
        if problems:
            # One line on stderr and exit status 1 (BaseCommand.run_from_argv).
            raise CommandError("; ".join(problems) + ". See the runs on the retention page.")


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
