"""Re-applying erasures after a restore: erase again everyone the ledger names.

Invariant: it goes through the normal erasure service (retention.services.erasure),
one visitor per transaction, each with a receipt of its own (origin "restore")
and its own ledger entry; a visitor already gone is reported, not an error, so
running it twice is a no-op the second time. A conversation under legal hold
in the restored data blocks that visitor (reported, never overridden).

It lives apart from the ledger because the erasure service writes ledger
entries (erasure imports ledger) and this module runs erasures (it imports both).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from accounts.models import Company
from conversations.models import Visitor
from retention.models import ErasureRequest
from retention.services.erasure import ErasureError, erasure_execute, erasure_request_create
from retention.services.ledger import MATCH_CHUNK, LedgerRecord, token_ref, visitor_ref


@dataclass
class ReapplyReport:
    """What a re-apply found: counts, and the request ids it wrote (ids only)."""

    entries: int = 0
    erased: list[tuple[int, int]] = field(default_factory=list)  # (ledger request id, new id)
    would_erase: list[tuple[int, int]] = field(default_factory=list)  # (ledger request id, visitor)
    already_gone: int = 0
    blocked: list[tuple[int, str]] = field(default_factory=list)  # (ledger request id, code)


def _matches(*, company_id: int, records: list[LedgerRecord]) -> dict[int, LedgerRecord]:
    """Visitor id -> the ledger record naming them, by keyed hash of their id or token hash.

    The hashes cannot be looked up, so the company's visitors are hashed in
    chunks (index visitor_company_token covers company_id; ids come in pk order).
    """
    by_visitor = {r.visitor_ref: r for r in records}
    by_token = {r.token_ref: r for r in records if r.token_ref}
    found: dict[int, LedgerRecord] = {}
    rows = (
        Visitor.objects.filter(company_id=company_id)
        .order_by("pk")
        .values_list("pk", "token_hash")
        .iterator(chunk_size=MATCH_CHUNK)
    )
    for pk, token_hash in rows:
        record = by_visitor.get(visitor_ref(company_id=company_id, visitor_id=pk))
        if record is None and token_hash:
            record = by_token.get(token_ref(company_id=company_id, token_hash=token_hash))
        if record is not None:
            found[pk] = record
    return found


def erasures_reapply(
    *, records: Iterable[LedgerRecord], since: datetime, dry_run: bool = False
) -> ReapplyReport:
    """Erase again every visitor a ledger entry executed at or after `since` names.

    Idempotent: an entry whose visitor is not in the database counts as
    `already_gone`. A conversation under legal hold in the restored data blocks
    that visitor (reported, never overridden: a hold is lifted by a person).
    """
    report = ReapplyReport()
    wanted = [r for r in records if r.executed_at >= since]
    report.entries = len(wanted)
    by_company: dict[int, list[LedgerRecord]] = {}
    for record in wanted:
        by_company.setdefault(record.company_id, []).append(record)
    for company_id in sorted(by_company):
        company = Company.objects.filter(pk=company_id).first()
        company_records = by_company[company_id]
        matches = _matches(company_id=company_id, records=company_records) if company else {}
        # Several entries can name one visitor (an erasure and an earlier re-apply of it).
        matched_refs = {r.visitor_ref for r in matches.values()}
        matched_refs |= {r.token_ref for r in matches.values() if r.token_ref}
        report.already_gone += sum(
            1
            for r in company_records
            if r.visitor_ref not in matched_refs
            and (not r.token_ref or r.token_ref not in matched_refs)
        )
        for visitor_id, record in sorted(matches.items()):
            if dry_run:
                report.would_erase.append((record.request_id, visitor_id))
                continue
            visitor = Visitor.objects.filter(company_id=company_id, pk=visitor_id).first()
            if visitor is None:  # erased or purged since the match
                report.already_gone += 1
                continue
            try:
                with transaction.atomic():  # a refused erasure leaves no pending request behind
                    request = erasure_request_create(
                        company=company,
                        visitor=visitor,
                        actor=None,
                        origin=ErasureRequest.Origin.RESTORE,
                    )
                    done = erasure_execute(
                        request=request, actor=None, reapplies_request_id=record.request_id
                    )
            except ErasureError as exc:
                if exc.code == "gone":
                    report.already_gone += 1
                else:
                    report.blocked.append((record.request_id, exc.code))
                continue
            report.erased.append((record.request_id, done.pk))
    return report
