"""purge_expired: the retention run of beat, by hand; the same service, to the end."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from accounts.models import Company
from chatbot_site.lib.crypto import EncryptionKeyError, encryption_keys_check
from retention.models import RetentionRun
from retention.selectors import retention_preview
from retention.services.policy import policy_get_or_create
from retention.services.purge import retention_run


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
        companies = Company.objects.order_by("slug")
        if options["company"]:
            companies = companies.filter(slug=options["company"])
            if not companies.exists():
                raise CommandError(f"No company with the slug {options['company']!r}.")
        if not options["dry_run"]:
            try:
                encryption_keys_check()
            except EncryptionKeyError as exc:
                raise CommandError(f"Nothing was run: {_one_line(exc)}") from exc
        problems = []
        for company in companies:
            policy = policy_get_or_create(company=company)
            preview = retention_preview(
                company=company,
                conversation_days=policy.conversation_days,
                personal_data_days=policy.personal_data_days,
                audit_days=policy.audit_days,
                now=timezone.now(),
            )
            if options["dry_run"]:
                self.stdout.write(
                    f"{company.slug}: would delete {preview.conversations_to_delete} "
                    f"conversations ({preview.messages_to_delete} messages) and "
                    f"{preview.audit_entries_to_delete} audit entries, strip personal data "
                    f"from {preview.conversations_to_strip} conversations; "
                    f"{preview.held_conversations} held"
                )
                continue
            problem = self._run(company, preview, options["verbosity"])
            if problem:
                problems.append(problem)
        if problems:
            # One line on stderr and exit status 1 (BaseCommand.run_from_argv).
            raise CommandError("; ".join(problems) + ". See the runs on the retention page.")

    def _run(self, company: Company, preview, verbosity: int) -> str:
        """Run the company's window to the end; what went wrong, or "" if nothing did."""
        total = preview.conversations_to_delete + preview.conversations_to_strip
        totals = {"deleted": 0, "messages": 0, "stripped": 0, "audit": 0}
        with tqdm(
            total=total,
            desc=company.slug,
            unit="conv",
            disable=verbosity == 0 or total < 1000 or not self.stderr.isatty(),
            file=self.stderr,
        ) as bar:
            while True:
                run = retention_run(company_id=company.pk)
                if run is None:
                    return f"{company.slug}: not run, another retention run holds its lock"
                totals["deleted"] += run.conversations_deleted
                totals["messages"] += run.messages_deleted
                totals["stripped"] += run.conversations_stripped
                totals["audit"] += run.audit_entries_deleted
                bar.update(run.conversations_deleted + run.conversations_stripped)
                if run.outcome != RetentionRun.Outcome.PARTIAL:
                    break
        self.stdout.write(
            f"{company.slug}: {run.outcome}: deleted {totals['deleted']} conversations "
            f"({totals['messages']} messages) and {totals['audit']} audit entries, stripped "
            f"{totals['stripped']} conversations"
        )
        if run.outcome == RetentionRun.Outcome.FAILED:
            return f"{company.slug}: run {run.pk} failed ({run.error})"
        return ""


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
