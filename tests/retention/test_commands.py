"""purge_expired, erase_visitor, export_visitor and verify_receipt call the same services."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from chatbot_site.lib.crypto import blind_index
from conversations.models import Conversation, Visitor
from retention.models import RetentionPolicy, RetentionRun
from retention.services.policy import policy_get_or_create
from tests.retention.helpers import make_conversation

pytestmark = pytest.mark.django_db


def _run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


@pytest.fixture
def short_retention(personas):
    for company in (personas.company_a, personas.company_b):
        policy = policy_get_or_create(company=company)
        RetentionPolicy.objects.filter(pk=policy.pk).update(
            conversation_days=30, personal_data_days=10
        )
    now = timezone.now()
    return {
        "old_a": make_conversation(inbox=personas.inbox_a, now=now, age_days=40),
        "mid_a": make_conversation(inbox=personas.inbox_a, now=now, age_days=20),
        "old_b": make_conversation(inbox=personas.inbox_b, now=now, age_days=40),
    }


def test_the_help_states_exactly_what_purge_expired_deletes():
    from retention.management.commands.purge_expired import Command

    for words in ("DELETES conversations", "consent records", "audit entries", "legal hold"):
        assert words in Command.help


def test_dry_run_counts_and_changes_nothing(short_retention):
    output = _run("purge_expired", "--dry-run", "--company", "acme")
    assert "acme: would delete 1 conversations (2 messages)" in output
    assert "from 1 conversations" in output
    assert Conversation.objects.count() == 3 and not RetentionRun.objects.exists()


def test_purge_expired_for_one_company_leaves_the_others(keep_connection, short_retention):
    output = _run("purge_expired", "--company", "acme")
    assert "acme: done: deleted 1 conversations (2 messages)" in output
    assert not Conversation.objects.filter(pk=short_retention["old_a"].pk).exists()
    assert Conversation.objects.filter(pk=short_retention["old_b"].pk).exists()
    short_retention["mid_a"].refresh_from_db()
    assert short_retention["mid_a"].personal_data_stripped_at is not None


def test_purge_expired_without_company_runs_all(keep_connection, short_retention):
    _run("purge_expired")
    assert Conversation.objects.count() == 1


def test_an_unknown_slug_is_one_line_and_a_non_zero_exit(short_retention):
    with pytest.raises(CommandError, match="No company with the slug 'nope'"):
        _run("purge_expired", "--company", "nope")


def test_erase_visitor_by_email_prints_a_receipt_that_verify_receipt_accepts(
    personas, tmp_path, capsys
):
    conv = make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=1)
    Visitor.objects.filter(pk=conv.visitor_id).update(
        email="cli@example.org", email_index=blind_index("cli@example.org")
    )
    output = _run("erase_visitor", "--company", "acme", "--email", "CLI@example.org", "--yes")
    receipt = json.loads(output)
    assert receipt["receipt"]["erased"]["conversations"] == 1
    assert receipt["receipt"]["executed_by"] == "system"
    assert not Visitor.objects.filter(pk=conv.visitor_id).exists()

    path = tmp_path / "receipt.json"
    path.write_text(output)
    assert "valid: erasure request" in _run("verify_receipt", str(path))

    # A duplicated key before the signed one ("messages": 999, then the real count):
    # a reader that keeps the last one would verify it and a person would read 999.
    doubled = tmp_path / "doubled.json"
    doubled.write_text(output.replace('"erased": {', '"erased": {"messages": 999, ', 1))
    assert doubled.read_text() != output
    with pytest.raises(SystemExit) as exit_info:
        _run("verify_receipt", str(doubled))
    assert exit_info.value.code == 1

    receipt["receipt"]["erased"]["messages"] = 0
    path.write_text(json.dumps(receipt))
    with pytest.raises(SystemExit) as exit_info:
        _run("verify_receipt", str(path))
    assert exit_info.value.code == 1


def test_verify_receipt_says_invalid_for_a_file_that_is_not_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("nope")
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_receipt", str(path), stdout=out)
    assert exit_info.value.code == 1 and out.getvalue().startswith("invalid")


def test_erase_visitor_finds_by_conversation_and_refuses_other_companies(personas):
    theirs = make_conversation(inbox=personas.inbox_b, now=timezone.now(), age_days=1)
    with pytest.raises(CommandError, match="No visitor of this company matches"):
        _run("erase_visitor", "--company", "acme", "--conversation", theirs.reference, "--yes")
    assert Conversation.objects.filter(pk=theirs.pk).exists()
    _run("erase_visitor", "--company", "bravo", "--conversation", theirs.reference, "--yes")
    assert not Conversation.objects.filter(pk=theirs.pk).exists()


def test_erase_visitor_names_the_ids_when_an_email_matches_several_and_erases_none(personas):
    now = timezone.now()
    convs = [make_conversation(inbox=personas.inbox_a, now=now, age_days=1) for _ in range(2)]
    ids = sorted(c.visitor_id for c in convs)
    Visitor.objects.filter(pk__in=ids).update(
        email="twice@example.org", email_index=blind_index("twice@example.org")
    )
    with pytest.raises(CommandError) as refused:
        _run("erase_visitor", "--company", "acme", "--email", "twice@example.org", "--yes")
    assert str(refused.value) == (
        f"2 visitors match (ids {ids[0]}, {ids[1]}); name one with --visitor-id."
    )
    assert Visitor.objects.filter(pk__in=ids).count() == 2


def test_erase_visitor_asks_before_erasing(personas, monkeypatch):
    conv = make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=1)
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="nothing was erased"):
        _run("erase_visitor", "--company", "acme", "--visitor-id", str(conv.visitor_id))
    assert Conversation.objects.filter(pk=conv.pk).exists()


def test_export_visitor_writes_the_json_to_a_file(personas, tmp_path):
    conv = make_conversation(
        inbox=personas.inbox_a, now=timezone.now(), age_days=1, bodies=("export me",)
    )
    path = tmp_path / "export.json"
    _run(
        "export_visitor",
        "--company",
        "acme",
        "--visitor-id",
        str(conv.visitor_id),
        "--output",
        str(path),
    )
    data = json.loads(path.read_text())
    assert data["conversations"][0]["messages"][0]["text"] == "export me"
    stdout = json.loads(
        _run("export_visitor", "--company", "acme", "--conversation", conv.reference)
    )
    assert stdout["conversations"][0]["reference"] == conv.reference


def test_seed_demo_gives_the_demo_companies_a_default_policy_once():
    call_command("seed_demo", stdout=io.StringIO())
    first = dict(RetentionPolicy.objects.values_list("company__slug", "pk"))
    RetentionPolicy.objects.filter(company__slug="demo").update(conversation_days=7)
    call_command("seed_demo", stdout=io.StringIO())
    assert dict(RetentionPolicy.objects.values_list("company__slug", "pk")) == first
    assert set(first) >= {"demo", "other"}
    assert RetentionPolicy.objects.get(company__slug="demo").conversation_days == 7


# --------------------------------------------------------------------------- #
# purge_expired: a non-zero exit and one line on stderr when it could not run
# --------------------------------------------------------------------------- #


@pytest.fixture
def keep_connection(monkeypatch):
    # run_from_argv closes every connection at the end, the test's transaction with it
    from django.core.management import base

    monkeypatch.setattr(base.connections, "close_all", lambda: None)


def _exit(capsys, *args) -> tuple[int, str]:
    """Run the command as manage.py does: (exit status, stderr)."""
    from retention.management.commands.purge_expired import Command

    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(["manage.py", "purge_expired", *args])
    return exit_info.value.code, capsys.readouterr().err


def test_purge_expired_exits_non_zero_with_one_line_when_the_lock_is_held(
    keep_connection, short_retention, personas, capsys
):
    from tests.retention.test_run_lock import held_elsewhere

    with held_elsewhere(personas.company_a.pk):
        code, err = _exit(capsys, "--company", "acme")
    assert code == 1
    assert err.strip().splitlines() == [
        "CommandError: acme: not run, another retention run holds its lock. "
        "See the runs on the retention page."
    ]
    assert Conversation.objects.filter(pk=short_retention["old_a"].pk).exists()


def test_purge_expired_runs_the_other_companies_and_still_fails_for_the_locked_one(
    keep_connection, short_retention, personas, capsys
):
    from tests.retention.test_run_lock import held_elsewhere

    with held_elsewhere(personas.company_a.pk):
        code, err = _exit(capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "acme: not run" in err
    assert not Conversation.objects.filter(pk=short_retention["old_b"].pk).exists()
    assert Conversation.objects.filter(pk=short_retention["old_a"].pk).exists()


def test_purge_expired_exits_non_zero_for_an_unknown_company(
    keep_connection, short_retention, capsys
):
    code, err = _exit(capsys, "--company", "nope")
    assert code == 1
    assert err.strip().splitlines() == ["CommandError: No company with the slug 'nope'."]


def test_purge_expired_exits_non_zero_and_runs_nothing_when_the_keys_do_not_fit(
    keep_connection, short_retention, capsys, monkeypatch
):
    from chatbot_site.lib.crypto import EncryptionKeyError
    from retention.management.commands import purge_expired

    def refuse():
        raise EncryptionKeyError(
            "FIELD_ENCRYPTION_KEY cannot decrypt the data in this database (the key sentinel)"
        )

    monkeypatch.setattr(purge_expired, "encryption_keys_check", refuse)
    code, err = _exit(capsys)
    assert code == 1
    assert err.strip().splitlines() == [
        "CommandError: Nothing was run: FIELD_ENCRYPTION_KEY cannot decrypt the data in this "
        "database (the key sentinel)"
    ]
    assert Conversation.objects.count() == 3 and not RetentionRun.objects.exists()


def test_purge_expired_exits_non_zero_when_a_run_fails(
    keep_connection, short_retention, capsys, monkeypatch
):
    from retention.services import purge

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(purge, "_delete_expired_conversations", broken)
    code, err = _exit(capsys, "--company", "acme")
    run = RetentionRun.objects.get()
    assert code == 1
    assert err.strip().splitlines() == [
        f"CommandError: acme: run {run.pk} failed (RuntimeError). "
        "See the runs on the retention page."
    ]


def test_purge_expired_exits_zero_when_it_ran(keep_connection, short_retention, capsys):
    from retention.management.commands.purge_expired import Command

    Command().run_from_argv(["manage.py", "purge_expired", "--company", "acme"])
    assert capsys.readouterr().err == ""


@pytest.mark.django_db(transaction=True)
def test_manage_py_purge_expired_under_a_held_lock_exits_1_with_one_line(personas):
    """The real process on PostgreSQL: another session holds the company's lock."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.retention.test_run_killed_worker import _database_url
    from tests.retention.test_run_lock import held_elsewhere
    from tests.services import need_postgres

    need_postgres()
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DATABASE_URL": _database_url()}
    command = [sys.executable, "manage.py", "purge_expired", "--company", "acme"]
    with held_elsewhere(personas.company_a.pk):
        held = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    free = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)

    assert held.returncode == 1, held.stderr
    assert held.stderr.strip().splitlines() == [
        "CommandError: acme: not run, another retention run holds its lock. "
        "See the runs on the retention page."
    ]
    assert free.returncode == 0, free.stderr
    assert free.stdout.startswith("acme: done")
