"""Strict reads and the start-up key check (chatbot_site/lib/crypto.py, chatbot_site/checks.py).

A value no configured key decrypts raises instead of being read as text; a
process (web, worker, beat) whose keys do not fit the data does not start.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import override_settings

from chatbot_site.checks import check_encryption_keys
from chatbot_site.lib.crypto import EncryptionKeyError, UndecryptableValue, encryption_keys_check
from consent.services.visitors import contact_details_withdraw
from conversations.models import Message, Visitor
from tests.factories import MessageFactory, VisitorFactory

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
REFUSED = "refused to start: "


def foreign_token(text: str = "foreign") -> str:
    return Fernet(Fernet.generate_key()).encrypt(text.encode()).decode()


def set_raw(table: str, column: str, pk: int, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])  # noqa: S608


# --- strict reads --------------------------------------------------------------


@pytest.mark.django_db
def test_a_row_written_under_a_key_that_is_then_removed_raises_on_read(settings):
    old_keys = list(settings.FIELD_ENCRYPTION_KEY)
    new_key = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEY=[new_key, *old_keys]):
        message = MessageFactory(body="strict canary 0815")
        assert Message.objects.get(pk=message.pk).body == "strict canary 0815"
    with override_settings(FIELD_ENCRYPTION_KEY=old_keys):  # the key it was written with is gone
        with pytest.raises(UndecryptableValue) as caught:
            Message.objects.get(pk=message.pk)
        with pytest.raises(UndecryptableValue):
            list(Message.objects.filter(pk=message.pk).values_list("body", flat=True))
    assert str(caught.value).startswith("conversations.Message.body: ")
    assert "strict canary" not in str(caught.value) and "gAAAA" not in str(caught.value)
    assert isinstance(caught.value, EncryptionKeyError)


@pytest.mark.django_db
def test_a_value_under_a_foreign_key_raises_instead_of_reading_as_ciphertext():
    visitor = VisitorFactory(name="x")
    set_raw("conversations_visitor", "name", visitor.pk, foreign_token())
    with pytest.raises(UndecryptableValue, match=r"conversations\.Visitor\.name"):
        Visitor.objects.get(pk=visitor.pk)


@pytest.mark.django_db
def test_empty_columns_and_plaintext_form_input_still_read_as_they_are(personas):
    visitor = VisitorFactory(inbox=personas.inbox_a, name="Ada")
    contact_details_withdraw(visitor=visitor)  # writes '' in SQL
    assert Visitor.objects.get(pk=visitor.pk).name == ""
    # The library runs to_python on form input too: plaintext is not an error there.
    assert Message._meta.get_field("body").to_python("plain text from a form") == (
        "plain text from a form"
    )


# --- the sample check ----------------------------------------------------------


@pytest.mark.django_db
def test_the_check_passes_on_the_right_keys(django_assert_max_num_queries):
    MessageFactory.create_batch(3)
    with django_assert_max_num_queries(12):  # table list, sentinel, two windows per column
        encryption_keys_check()


@pytest.mark.django_db
def test_the_check_catches_a_column_under_a_foreign_key_although_the_sentinel_decrypts():
    visitor = VisitorFactory()
    set_raw("conversations_visitor", "email", visitor.pk, foreign_token())
    with pytest.raises(EncryptionKeyError) as caught:
        encryption_keys_check()
    assert f"conversations.Visitor.email (row {visitor.pk})" in str(caught.value)
    assert "sentinel" not in str(caught.value)
    errors = check_encryption_keys()
    assert [e.id for e in errors] == ["hafen.E001"]
    assert "\n" not in errors[0].msg


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["oldest", "newest"])
def test_the_check_samples_both_ends_of_a_column(which):
    messages = MessageFactory.create_batch(12)
    target = messages[0] if which == "oldest" else messages[-1]
    encryption_keys_check()
    set_raw("conversations_message", "body", target.pk, foreign_token())
    with pytest.raises(
        EncryptionKeyError, match=rf"conversations\.Message\.body \(row {target.pk}\)"
    ):
        encryption_keys_check()


@pytest.mark.django_db
def test_the_check_refuses_keys_that_decrypt_nothing(encryption_sentinel):
    with override_settings(FIELD_ENCRYPTION_KEY=[Fernet.generate_key().decode()]):
        with pytest.raises(EncryptionKeyError, match="cannot decrypt"):
            encryption_keys_check()


# --- processes refuse to start ---------------------------------------------------


def run(args: list[str], *, var: Path, key: str, timeout: int = 90) -> subprocess.CompletedProcess:
    skip = {"DATABASE_URL", "REDIS_URL", "FIELD_ENCRYPTION_KEY", "HAFEN_ENV"}
    env = {k: v for k, v in os.environ.items() if k not in skip and not k.startswith("CELERY_")}
    env.update(
        HAFEN_VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{var / 'db.sqlite3'}",
        FIELD_ENCRYPTION_KEY=key,
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="chatbot_site.settings",
    )
    return subprocess.run(
        args, cwd=var, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> tuple[Path, str]:
    """A migrated SQLite database (its sentinel written under `key`), shared read-only."""
    var = tmp_path_factory.mktemp("keys-db")
    key = Fernet.generate_key().decode()
    result = run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--skip-checks", "-v", "0"],
        var=var,
        key=key,
    )
    assert result.returncode == 0, result.stderr
    return var, key


@pytest.fixture
def db_copy(migrated, tmp_path) -> tuple[Path, str]:
    var, key = migrated
    shutil.copy(var / "db.sqlite3", tmp_path / "db.sqlite3")
    shutil.copy(var / "dev-secrets.env", tmp_path / "dev-secrets.env")
    return tmp_path, key


def refusal(result: subprocess.CompletedProcess, process: str) -> str:
    """The one line that says why `process` refused, from its stderr."""
    lines = [line for line in result.stderr.splitlines() if f"hafen {process} {REFUSED}" in line]
    assert len(lines) >= 1, result.stderr
    return lines[0][lines[0].index(f"hafen {process} ") :]


IMPORT_WSGI = [sys.executable, "-c", "import chatbot_site.wsgi; print('started')"]


def test_the_web_starts_with_the_right_key(db_copy):
    var, key = db_copy
    result = run(IMPORT_WSGI, var=var, key=key)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout and REFUSED not in result.stderr


def test_the_web_starts_on_a_database_not_migrated_yet(tmp_path):
    result = run(IMPORT_WSGI, var=tmp_path, key=Fernet.generate_key().decode())
    assert result.returncode == 0, result.stderr


def test_the_web_refuses_to_start_with_a_wrong_key(db_copy):
    var, _key = db_copy
    result = run(IMPORT_WSGI, var=var, key=Fernet.generate_key().decode())
    assert result.returncode == 4
    assert result.stderr.strip().splitlines() == [
        "hafen web refused to start: FIELD_ENCRYPTION_KEY cannot decrypt the data in this "
        "database (the key sentinel): set the keys this database was encrypted with"
    ]
    assert "started" not in result.stdout


def test_gunicorn_stops_instead_of_serving_with_a_wrong_key(db_copy):
    var, _key = db_copy
    gunicorn = [str(VENV_BIN / "gunicorn"), "chatbot_site.wsgi:application"]
    result = run(
        [*gunicorn, "--bind", "127.0.0.1:0", "--workers", "1", "--no-control-socket"],
        var=var,
        key=Fernet.generate_key().decode(),
    )
    assert result.returncode != 0
    assert "cannot decrypt the data" in refusal(result, "web")


def test_the_asgi_application_refuses_inside_a_running_event_loop(db_copy):
    var, _key = db_copy
    code = (
        "import asyncio\n"
        "async def main():\n"
        "    import chatbot_site.asgi\n"
        "asyncio.run(main())\n"
        "print('started')\n"
    )
    result = run([sys.executable, "-c", code], var=var, key=Fernet.generate_key().decode())
    assert result.returncode == 4, result.stderr
    assert "cannot decrypt the data" in refusal(result, "web")


CELERY_WORKER = [
    "worker", "--pool", "solo", "--without-heartbeat", "--without-mingle", "--without-gossip",
    "--loglevel", "warning",
]  # fmt: skip


def test_a_celery_worker_refuses_to_start_with_a_wrong_key(db_copy):
    var, _key = db_copy
    celery = [str(VENV_BIN / "celery"), "-A", "chatbot_site"]
    result = run([*celery, *CELERY_WORKER], var=var, key=Fernet.generate_key().decode())
    assert result.returncode == 4, result.stderr
    assert "cannot decrypt the data" in refusal(result, "worker")


def test_celery_beat_refuses_to_start_with_a_wrong_key(db_copy):
    var, _key = db_copy
    celery = [str(VENV_BIN / "celery"), "-A", "chatbot_site"]
    beat = ["beat", "--loglevel", "warning", "--schedule", str(var / "beat-schedule")]
    result = run([*celery, *beat], var=var, key=Fernet.generate_key().decode())
    assert result.returncode == 4, result.stderr
    assert "cannot decrypt the data" in refusal(result, "beat")


def test_a_worker_on_the_key_list_from_before_a_rotation_refuses_to_start(db_copy):
    """The web got the new list and the rotation ran; the worker kept the old list."""
    var, old_key = db_copy
    new_key = Fernet.generate_key().decode()
    rotate = [sys.executable, str(ROOT / "manage.py"), "rotate_encryption_keys", "--no-progress"]
    result = run(rotate, var=var, key=f"{new_key},{old_key}")
    assert result.returncode == 0, result.stderr
    celery = [str(VENV_BIN / "celery"), "-A", "chatbot_site"]
    stale = run([*celery, *CELERY_WORKER], var=var, key=f"{old_key},{new_key}")
    assert stale.returncode == 4, stale.stderr
    assert "retired by a key rotation" in refusal(stale, "worker")
    web = run(IMPORT_WSGI, var=var, key=new_key)  # the old key dropped: fine
    assert web.returncode == 0, web.stderr
