"""Helpers shared by the HTTP benchmarks (bench/ingest.py, bench/load.py).

A benchmark database is dropped and created afresh, so its name must contain
"bench" (fresh_database refuses any other name). gunicorn runs the product's
WSGI application with bench/settings.py (DEBUG off) on a loopback port.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_env(database_url: str, *, rate_limits: bool = False) -> dict[str, str]:
    """The server's environment: bench settings, DEBUG off, quiet logs.

    Rate limits are switched off (HAFEN_RATE_*=0) unless `rate_limits`, in which
    case the product's defaults (or whatever the caller's environment sets) apply.
    """
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=database_url,
        DEBUG="0",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    if not rate_limits:
        env.update(
            {
                f"HAFEN_RATE_{name}_PER_MINUTE": "0"
                for name in (
                    "INBOX",
                    "CONVERSATION",
                    "POLLS",
                    "CLIENT",
                    "CLIENT_PUBLIC",
                    "VISITOR",
                    "SELF_SERVICE",
                )
            }
        )
    return env


def fresh_database(database_url: str) -> None:
    """Drop and create the database named in `database_url` (its name must contain "bench")."""
    import psycopg

    parsed = urlparse(database_url)
    name = parsed.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to drop {name!r}: the benchmark database name must contain 'bench'")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def manage(env: dict[str, str], *args: str) -> None:
    """Run `manage.py <args>` with the bench environment; fail loudly."""
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


def start_gunicorn(
    env: dict[str, str],
    port: int,
    workers: int,
    threads: int,
    *,
    keep_alive: int | None = 30,
    log: IO | None = None,
    ready_path: str = "/api/chat/demo-website/config",
) -> subprocess.Popen:
    """Start gunicorn on 127.0.0.1:`port` and wait (30 s at most) until `ready_path` answers 200.

    `keep_alive` None keeps gunicorn's default (2 s, as the Procfile runs it);
    `log` receives gunicorn's stdout and stderr (default: inherited).
    """
    cmd = [
        str(ROOT / ".venv/bin/gunicorn"),
        "chatbot_site.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--log-level",
        "warning",
    ]
    if keep_alive is not None:
        cmd += ["--keep-alive", str(keep_alive)]
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
    deadline = time.time() + 30
    status: int | str = "no answer"
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn exited with status {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", ready_path)
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    process.terminate()
    process.wait(timeout=30)
    sys.exit(f"gunicorn did not come up: GET {ready_path} answered {status}")
