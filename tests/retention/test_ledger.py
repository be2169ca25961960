"""The erasure ledger: every erasure recorded pseudonymously, re-applied after a restore.

The end-to-end test takes a real backup (pg_dump -Fc on PostgreSQL, SQLite's
online backup API on SQLite), erases, restores the backup, sees the visitor
back, runs `reapply_erasures` and sees them gone again.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from auditlog.models import LogEntry
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone

from chatbot_site.lib.crypto import blind_index
from consent.models import ConsentRecord
from conversations.models import Conversation, Message, Visitor
from retention.models import ErasureLedgerEntry, ErasureRequest
from retention.services.erasure import (
    ErasureError,
    erasure_execute,
    erasure_request_create,
    erasure_self_service,
    receipt_verify,
)
from retention.services.holds import legal_hold_place
from retention.services.ledger import (
    ledger_append,
    ledger_read,
    ledger_record,
    token_ref,
    visitor_ref,
)
from retention.services.reapply import erasures_reapply
from tests.canary import decrypted_and_raw_text
from tests.retention.helpers import make_conversation
from tests.services import need_postgres

CANARY_NAME = "Canary Ledgerbird"
CANARY_EMAIL = "canary-8812@example.org"
CANARY_PHONE = "+49 30 88128812"
CANARY_TEXT = "my secret canary-text-8812"
NEEDLES = (CANARY_NAME, CANARY_EMAIL, CANARY_PHONE, "88128812", CANARY_TEXT)


@pytest.fixture
def ledger(settings, tmp_path) -> Path:
    path = tmp_path / "erasure-ledger.jsonl"
    settings.HAFEN_ERASURE_LEDGER_PATH = str(path)
    return path


def make_subject(personas) -> Visitor:
    """A visitor with two conversations, personal data in messages, contact details, consent."""
    now = timezone.now()
    conv = make_conversation(
        inbox=personas.inbox_a,
        now=now,
        age_days=1,
        bodies=(f"I am {CANARY_NAME}, {CANARY_EMAIL}", CANARY_TEXT),
        messages=3,
    )
    visitor = Visitor.objects.get(pk=conv.visitor_id)
    visitor.name, visitor.email, visitor.phone = CANARY_NAME, CANARY_EMAIL, CANARY_PHONE
    visitor.email_index = blind_index(CANARY_EMAIL)
    visitor.save()
    make_conversation(inbox=personas.inbox_a, now=now, age_days=0, visitor=visitor)
    ConsentRecord.objects.create(
        company=personas.company_a,
        visitor=visitor,
        purpose=ConsentRecord.Purpose.CONTACT,
        action=ConsentRecord.Action.GRANTED,
        purpose_text=f"Call back {CANARY_NAME}",
    )
    return visitor


def make_bystander(personas) -> Visitor:
    conv = make_conversation(
        inbox=personas.inbox_a, now=timezone.now(), age_days=1, bodies=("bystander text",)
    )
    return Visitor.objects.get(pk=conv.visitor_id)


def reapply(*args: str, **kwargs) -> str:
    out = io.StringIO()
    call_command("reapply_erasures", *args, stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


def subject_rows(visitor_id: int) -> dict[str, int]:
    return {
        "visitors": Visitor.objects.filter(pk=visitor_id).count(),
        "conversations": Conversation.objects.filter(visitor_id=visitor_id).count(),
        "messages": Message.objects.filter(conversation__visitor_id=visitor_id).count(),
        "consent_records": ConsentRecord.objects.filter(visitor_id=visitor_id).count(),
    }


# --- backup and restore, as an operator does it -----------------------------------------


def _pg_env() -> tuple[list[str], dict[str, str]]:
    params = connection.settings_dict
    args = ["-h", params["HOST"] or "127.0.0.1", "-p", str(params["PORT"] or 5432)]
    if params["USER"]:
        args += ["-U", params["USER"]]
    env = {**os.environ, "PGPASSWORD": params["PASSWORD"] or ""}
    return args, env


def backup(path: Path) -> None:
    """A real backup of the test database: pg_dump -Fc, or SQLite's online backup."""
    if connection.vendor == "postgresql":
        args, env = _pg_env()
        subprocess.run(
            ["pg_dump", "-Fc", *args, "-f", str(path), connection.settings_dict["NAME"]],
            env=env,
            check=True,
            capture_output=True,
        )
    else:
        connection.ensure_connection()
        target = sqlite3.connect(path)
        connection.connection.backup(target)
        target.close()


def restore(path: Path) -> None:
    """Restore the backup into the same database, replacing what is there."""
    if connection.vendor == "postgresql":
        connection.close()  # pg_restore --clean drops the tables; no open session may hold them
        args, env = _pg_env()
        subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                *args,
                "-d",
                connection.settings_dict["NAME"],
                str(path),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
    else:
        connection.ensure_connection()
        source = sqlite3.connect(path)
        source.backup(connection.connection)
        source.close()


@pytest.mark.django_db(transaction=True)
def test_an_erasure_undone_by_restoring_an_older_backup_is_erased_again(personas, ledger, tmp_path):
    subject = make_subject(personas)
    bystander = make_bystander(personas)
    before = subject_rows(subject.pk)
    assert before == {"visitors": 1, "conversations": 2, "messages": 5, "consent_records": 1}
    backup_taken = timezone.now()
    dump = tmp_path / "hafen.dump"
    backup(dump)

    erasure_self_service(visitor=Visitor.objects.get(pk=subject.pk))
    assert subject_rows(subject.pk) == dict.fromkeys(before, 0)
    assert ErasureLedgerEntry.objects.count() == 1
    assert len(ledger_read(path=ledger)) == 1

    restore(dump)
    # The restore brought the visitor back and rolled the ledger table back with it ...
    assert subject_rows(subject.pk) == before
    assert Visitor.objects.get(pk=subject.pk).email == CANARY_EMAIL
    assert CANARY_TEXT in decrypted_and_raw_text()
    assert not ErasureLedgerEntry.objects.exists()
    # ... but not the ledger file, kept outside the database.
    assert len(ledger_read(path=ledger)) == 1

    out = reapply("--since", backup_taken.isoformat(), "--ledger", str(ledger))

    assert "erased again 1, 0 already gone, 0 blocked" in out
    assert subject_rows(subject.pk) == dict.fromkeys(before, 0)
    everything = decrypted_and_raw_text()
    for needle in NEEDLES:
        assert needle not in everything, needle
    assert Visitor.objects.filter(pk=bystander.pk).exists()
    assert Message.objects.filter(conversation__visitor=bystander).first().body == "bystander text"
    # a receipt of its own, audited, and a ledger entry that says what it re-applied
    again = ErasureRequest.objects.get(origin=ErasureRequest.Origin.RESTORE)
    assert receipt_verify(again.receipt)
    assert again.receipt["receipt"]["erased"]["messages"] == 5
    assert again.receipt["receipt"]["executed_by"] == "system"
    assert LogEntry.objects.filter(
        additional_data__event="erasure.execute", additional_data__origin="restore"
    ).exists()
    entry = ErasureLedgerEntry.objects.get(request=again)
    original = ledger_read(path=ledger)[0]
    assert entry.reapplies_request_id == original.request_id
    assert entry.visitor_ref == original.visitor_ref
    assert len(ledger_read(path=ledger)) == 2

    # twice is a no-op
    requests = ErasureRequest.objects.count()
    out = reapply("--since", backup_taken.isoformat(), "--ledger", str(ledger))
    assert "erased again 0, 2 already gone, 0 blocked" in out
    assert ErasureRequest.objects.count() == requests
    assert len(ledger_read(path=ledger)) == 2


# --- the ledger itself ------------------------------------------------------------------


@pytest.mark.django_db
def test_every_erasure_writes_a_ledger_row_and_a_file_line_without_personal_data(personas, ledger):
    subject = make_subject(personas)
    token_hash, subject_id = subject.token_hash, subject.pk
    request = erasure_request_create(
        company=personas.company_a, visitor=subject, actor=personas.alice
    )
    done = erasure_execute(request=request, actor=personas.alice)

    entry = ErasureLedgerEntry.objects.get()
    assert entry.request == done and entry.company == personas.company_a
    assert entry.executed_at == done.executed_at and entry.origin == "admin"
    assert entry.visitor_ref == visitor_ref(company_id=personas.company_a.pk, visitor_id=subject_id)
    assert entry.token_ref == token_ref(company_id=personas.company_a.pk, token_hash=token_hash)
    text = ledger.read_text()
    line = json.loads(text)
    assert set(line) == {
        "v",
        "company_id",
        "request_id",
        "origin",
        "visitor_ref",
        "token_ref",
        "executed_at",
        "reapplies_request_id",
        "mac",
    }
    assert line["request_id"] == done.pk and line["company_id"] == personas.company_a.pk
    # pseudonymous: neither the token hash nor any personal value, in the file or the tables
    everything = decrypted_and_raw_text()
    for needle in (*NEEDLES, token_hash, "alice"):
        assert needle not in text, needle
    for needle in NEEDLES:
        assert needle not in everything, needle
    assert token_hash not in str(list(ErasureLedgerEntry.objects.values()))
    assert oct(ledger.stat().st_mode & 0o777) == oct(0o600)


@pytest.mark.django_db
def test_the_references_are_keyed_with_blind_index_key_and_scoped_to_the_company(settings):
    ref = visitor_ref(company_id=1, visitor_id=7)
    assert ref != visitor_ref(company_id=2, visitor_id=7)
    assert ref != token_ref(company_id=1, token_hash="7")
    settings.BLIND_INDEX_KEY = "another-key"
    assert visitor_ref(company_id=1, visitor_id=7) != ref


@pytest.mark.django_db
def test_when_the_ledger_cannot_be_written_nothing_is_erased(personas, settings, tmp_path):
    settings.HAFEN_ERASURE_LEDGER_PATH = str(tmp_path / "not-mounted" / "ledger.jsonl")
    subject = make_subject(personas)
    request = erasure_request_create(company=personas.company_a, visitor=subject, actor=None)

    with pytest.raises(ErasureError) as err:
        erasure_execute(request=request, actor=None)

    assert err.value.code == "ledger_unavailable"
    assert subject_rows(subject.pk)["messages"] == 5
    assert Visitor.objects.get(pk=subject.pk).email == CANARY_EMAIL
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.PENDING
    assert not ErasureLedgerEntry.objects.exists()
    assert not LogEntry.objects.filter(additional_data__event="erasure.execute").exists()
    assert not (tmp_path / "not-mounted").exists()  # a configured directory is never created


@pytest.mark.django_db
def test_the_self_service_erasure_through_the_api_is_refused_cleanly_without_a_ledger(
    personas, settings, tmp_path, client
):
    from chatbot_site.lib.crypto import hash_token, new_token

    settings.HAFEN_ERASURE_LEDGER_PATH = str(tmp_path / "missing" / "ledger.jsonl")
    subject = make_subject(personas)
    token = new_token()
    Visitor.objects.filter(pk=subject.pk).update(token_hash=hash_token(token))

    response = client.post(
        f"/api/chat/{personas.inbox_a.public_key}/erase", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code == 503  # nothing was erased: try again later
    assert response.json()["error"] == "ledger_unavailable"
    assert subject_rows(subject.pk)["messages"] == 5


# --- reapply_erasures without a restore: entries for visitors still present -------------


def record_for(visitor: Visitor, *, request_id: int = 9999, minutes_ago: int = 5, **kw):
    return ledger_record(
        company_id=visitor.company_id,
        request_id=request_id,
        origin="admin",
        visitor_id=kw.get("visitor_id", visitor.pk),
        token_hash=kw.get("token_hash", visitor.token_hash),
        executed_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


@pytest.mark.django_db
def test_reapply_only_erases_entries_since_the_given_time(personas, ledger):
    recent, old = make_subject(personas), make_bystander(personas)
    ledger_append(record=record_for(recent, request_id=1, minutes_ago=5))
    ledger_append(record=record_for(old, request_id=2, minutes_ago=120))

    out = reapply("--since", (timezone.now() - timedelta(hours=1)).isoformat())

    assert "1 ledger entries" in out and "erased again 1" in out
    assert not Visitor.objects.filter(pk=recent.pk).exists()
    assert Visitor.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db
def test_a_visitor_is_found_by_token_hash_when_the_id_differs(personas, ledger):
    subject = make_subject(personas)
    ledger_append(record=record_for(subject, visitor_id=10**9))

    reapply("--since", "2000-01-01T00:00:00Z")

    assert not Visitor.objects.filter(pk=subject.pk).exists()


@pytest.mark.django_db
def test_an_entry_of_another_company_never_matches(personas, ledger):
    subject = make_subject(personas)
    record = record_for(subject)
    other = ledger_record(
        company_id=personas.company_b.pk,
        request_id=1,
        origin="admin",
        visitor_id=subject.pk,
        token_hash=subject.token_hash,
        executed_at=record.executed_at,
    )
    ledger_append(record=other)

    out = reapply("--since", "2000-01-01T00:00:00Z")

    assert "erased again 0, 1 already gone" in out
    assert Visitor.objects.filter(pk=subject.pk).exists()


@pytest.mark.django_db
def test_a_dry_run_names_whom_it_would_erase_and_changes_nothing(personas, ledger):
    subject = make_subject(personas)
    ledger_append(record=record_for(subject, request_id=77))

    out = reapply("--since", "2000-01-01T00:00:00Z", "--dry-run")

    assert f"would erase visitor {subject.pk} (ledger request 77)" in out
    assert subject_rows(subject.pk)["messages"] == 5
    assert not ErasureRequest.objects.exists()


@pytest.mark.django_db
def test_a_legal_hold_in_the_restored_data_blocks_that_visitor_and_fails_the_command(
    personas, ledger
):
    subject, other = make_subject(personas), make_bystander(personas)
    legal_hold_place(
        conversation=Conversation.objects.filter(visitor=subject).first(),
        reason="court",
        actor=None,
    )
    ledger_append(record=record_for(subject, request_id=1))
    ledger_append(record=record_for(other, request_id=2))

    with pytest.raises(CommandError, match="1 visitors not erased"):
        reapply("--since", "2000-01-01T00:00:00Z")

    assert subject_rows(subject.pk)["messages"] == 5
    assert not Visitor.objects.filter(pk=other.pk).exists()  # the others are still erased
    assert not ErasureRequest.objects.filter(visitor=subject).exists()  # no stray request


@pytest.mark.django_db
def test_several_ledger_files_are_read_one_per_host(personas, tmp_path, ledger):
    first, second = make_subject(personas), make_bystander(personas)
    ledger_append(record=record_for(first), path=tmp_path / "web1.jsonl")
    ledger_append(record=record_for(second), path=tmp_path / "web2.jsonl")

    out = reapply(
        "--since",
        "2000-01-01T00:00:00Z",
        "--ledger",
        str(tmp_path / "web1.jsonl"),
        "--ledger",
        str(tmp_path / "web2.jsonl"),
    )

    assert "erased again 2" in out
    assert not Visitor.objects.filter(pk__in=[first.pk, second.pk]).exists()


@pytest.mark.django_db(transaction=True)
def test_two_reapplies_running_at_once_erase_each_visitor_once(personas, ledger):
    """Real threads on PostgreSQL: two operators start the re-apply at the same moment."""
    need_postgres()
    subjects = [make_subject(personas) for _ in range(3)]
    for n, subject in enumerate(subjects, start=1):
        ledger_append(record=record_for(subject, request_id=n))
    records = ledger_read(path=ledger)
    since = timezone.now() - timedelta(days=1)
    start = threading.Barrier(2)
    reports, errors = [], []

    def run() -> None:
        try:
            start.wait()
            reports.append(erasures_reapply(records=records, since=since))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(len(r.erased) for r in reports) == 3
    assert sum(r.already_gone for r in reports) == 3
    assert not Visitor.objects.filter(pk__in=[s.pk for s in subjects]).exists()
    assert ErasureRequest.objects.filter(origin=ErasureRequest.Origin.RESTORE).count() == 3
    assert ErasureLedgerEntry.objects.count() == 3
    assert len(ledger_read(path=ledger)) == 3 + 3


# --- bad input: one line, non-zero --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("since", ["yesterday", "2026-13-45T00:00:00", ""])
def test_an_unparseable_time_is_refused(ledger, since):
    ledger.write_text("")
    with pytest.raises(CommandError, match="is not an ISO time"):
        reapply("--since", since)


@pytest.mark.django_db
def test_a_missing_ledger_is_refused(tmp_path):
    with pytest.raises(CommandError, match="cannot read the erasure ledger .*nowhere.jsonl"):
        reapply("--since", "2026-01-01T00:00:00Z", "--ledger", str(tmp_path / "nowhere.jsonl"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tamper, reason",
    [
        (lambda line: line.replace('"request_id":1', '"request_id":2'), "signature"),
        (lambda line: line[:20], "not JSON"),
        (lambda line: json.dumps({"v": 1}), "not a ledger entry"),
    ],
)
def test_a_tampered_or_torn_ledger_line_stops_the_reapply_naming_the_line(
    personas, ledger, tamper, reason
):
    subject = make_subject(personas)
    ledger_append(record=record_for(subject, request_id=1))
    ledger_append(record=record_for(subject, request_id=1))
    lines = ledger.read_text().splitlines()
    ledger.write_text(lines[0] + "\n" + tamper(lines[1]) + "\n")

    with pytest.raises(CommandError, match=f"line 2: {reason}"):
        reapply("--since", "2000-01-01T00:00:00Z")

    assert Visitor.objects.filter(pk=subject.pk).exists()


@pytest.mark.django_db
def test_a_ledger_written_with_another_key_does_not_verify(personas, ledger, settings):
    subject = make_subject(personas)
    ledger_append(record=record_for(subject))
    settings.BLIND_INDEX_KEY = "another-key"
    with pytest.raises(CommandError, match="signature does not verify"):
        reapply("--since", "2000-01-01T00:00:00Z")


def test_the_command_exits_non_zero_with_one_line_on_bad_input(tmp_path):
    env = {**os.environ, "HAFEN_ERASURE_LEDGER_PATH": str(tmp_path / "ledger.jsonl")}
    result = subprocess.run(
        [sys.executable, "manage.py", "reapply_erasures", "--since", "last tuesday"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "is not an ISO time" in result.stderr
