from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from accounts.models import Company
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
        "personal_data_days (with their consent records), STRIPS personal data from "
        "conversations older than personal_data_days (redacts e-mails, phone numbers, IBANs "
        "and card numbers in messages; wipes the visitor's name, e-mail and phone and ends "
        "their resume token), and DELETES audit entries older than audit_days. "
        "Conversations under legal hold are never touched. Each run writes a summary shown "
        "on the retention page. --dry-run only counts."
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
        failed = False
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
            failed |= self._run(company, preview, options["verbosity"])
        if failed:
            raise CommandError("At least one run failed; see the runs on the retention page.")

    def _run(self, company: Company, preview, verbosity: int) -> bool:
        total = preview.conversations_to_delete + preview.conversations_to_strip
        totals = {"deleted": 0, "messages": 0, "stripped": 0, "audit": 0}
        with tqdm(
            total=total,
            desc=company.slug,
            unit="conv",
            disable=verbosity == 0 or total < 1000,
            file=self.stderr,
        ) as bar:
            while True:
                run = retention_run(company_id=company.pk)
                if run is None:
                    self.stderr.write(f"{company.slug}: another run holds the lock; skipped")
                    return False
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
        return run.outcome == RetentionRun.Outcome.FAILED
