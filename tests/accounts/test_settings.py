import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from chatbot_site.checks import check_encryption_keys

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "SECRET_KEY": "x" * 20 + "production-secret-key-with-enough-variety-0123456789",
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "BLIND_INDEX_KEY": "blind-index-key",
    "RECEIPT_SIGNING_KEY": "receipt-signing-key",
    "ALLOWED_HOSTS": "chat.example.com",
    "REDIS_URL": "rediss://cache.example.com:6380/0?ssl_cert_reqs=required",
}


def manage(tmp_path, *args, **env_overrides):
    skip = {*SECRETS, "DATABASE_URL", "HAFEN_ENV", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in skip}
    env.update({"HAFEN_VAR_DIR": str(tmp_path), **env_overrides})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy(tmp_path):
    result = manage(
        tmp_path,
        "check",
        "--deploy",
        HAFEN_ENV="production",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **SECRETS,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr + result.stdout


def test_production_refuses_to_start_without_a_secret(tmp_path):
    env = dict(SECRETS)
    del env["FIELD_ENCRYPTION_KEY"]
    result = manage(
        tmp_path,
        "check",
        HAFEN_ENV="production",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **env,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "FIELD_ENCRYPTION_KEY is not set" in lines[0]


def test_a_malformed_encryption_key_is_refused(tmp_path):
    result = manage(
        tmp_path,
        "check",
        HAFEN_ENV="production",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **{**SECRETS, "FIELD_ENCRYPTION_KEY": "not-a-key"},
    )
    assert result.returncode == 2
    assert "FIELD_ENCRYPTION_KEY holds a value that is not a Fernet key" in result.stderr


def test_development_generates_secrets_once(tmp_path):
    first = manage(tmp_path, "check", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert first.returncode == 0, first.stderr
    secrets_file = tmp_path / "dev-secrets.env"
    content = secrets_file.read_text()
    manage(tmp_path, "check", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert secrets_file.read_text() == content
    assert oct(secrets_file.stat().st_mode & 0o777) == "0o600"


def test_https_is_forced_behind_a_proxy_in_production(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER)"
    )
    result = manage(
        tmp_path,
        "shell",
        "-c",
        code,
        HAFEN_ENV="production",
        HAFEN_BEHIND_PROXY="1",
        DATABASE_URL="postgres://u:p@db.example.com:5432/hafen?sslmode=require",
        **SECRETS,
    )
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip().splitlines()[-1]
        == "True 31536000 True True ('HTTP_X_FORWARDED_PROTO', 'https')"
    )


def test_database_url_keeps_sslmode(tmp_path):
    code = "from django.conf import settings as s; print(s.DATABASES['default']['OPTIONS'])"
    result = manage(
        tmp_path,
        "shell",
        "-c",
        code,
        HAFEN_ENV="production",
        DATABASE_URL="postgres://u:p@db.example.com:5432/hafen?sslmode=require",
        **SECRETS,
    )
    assert "'sslmode': 'require'" in result.stdout, result.stderr


@pytest.mark.django_db
def test_the_encryption_check_passes_with_the_right_key():
    assert check_encryption_keys() == []


@pytest.mark.django_db
def test_the_encryption_check_fails_with_a_wrong_key(encryption_sentinel):
    with override_settings(FIELD_ENCRYPTION_KEY=[Fernet.generate_key().decode()]):
        errors = check_encryption_keys()
    assert [e.id for e in errors] == ["hafen.E001"]
    assert "cannot decrypt" in errors[0].msg


@pytest.mark.django_db
def test_an_old_key_after_the_new_one_still_decrypts(settings):
    with override_settings(
        FIELD_ENCRYPTION_KEY=[Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEY]
    ):
        assert check_encryption_keys() == []
