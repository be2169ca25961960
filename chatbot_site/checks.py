"""Start-up checks: the configured encryption keys fit the data in the database.

django-encrypted-model-fields hands back the ciphertext silently when a key is
wrong. Two guards turn that into a refusal (the rule is in
chatbot_site/lib/crypto.py):

- the system check hafen.E001, which every manage.py command runs;
- refuse_to_start_unless_keys_fit(), which wsgi.py, asgi.py and the Celery
  worker and beat (chatbot_site/celery.py) call once Django is set up: one line
  on stderr and exit status 4, which gunicorn treats as "the application
  failed to load" and stops instead of respawning workers.

A database that cannot be reached at start-up does not stop a process (a
PostgreSQL restart must not take every new web worker down with it); the
warning says so, and strict reads still refuse any value the keys cannot
decrypt.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading

from django.core.checks import Error, Tags, register
from django.db import DatabaseError, connections

from chatbot_site.lib.crypto import EncryptionKeyError, encryption_keys_check

logger = logging.getLogger(__name__)

# gunicorn's Arbiter.APP_LOAD_ERROR: a worker exiting with it halts the master.
START_REFUSED_EXIT_STATUS = 4


@register(Tags.security, deploy=False)
def check_encryption_keys(app_configs=None, **kwargs) -> list[Error]:
    try:
        encryption_keys_check()
    except EncryptionKeyError as exc:
        return [
            Error(
                str(exc),
                hint="Set the keys this database was encrypted with (when rotating: the new "
                "key first, the old ones after it, comma-separated, on every process).",
                id="hafen.E001",
            )
        ]
    except DatabaseError:
        return []  # no database yet (or unreachable): nothing to check against
    return []


def _check_in_sync_context() -> None:
    """encryption_keys_check(), in a thread of its own when an event loop runs here
    (uvicorn imports the ASGI application inside its loop, where Django refuses
    synchronous database access)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        try:
            encryption_keys_check()
        finally:
            # Do not carry the start-up connection into forked or threaded workers.
            connections.close_all()
        return
    errors: list[BaseException] = []

    def run() -> None:
        try:
            encryption_keys_check()
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="hafen-key-check")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def refuse_to_start_unless_keys_fit(process: str) -> None:
    """Exit with one line on stderr when this process's keys do not fit the data."""
    try:
        _check_in_sync_context()
    except EncryptionKeyError as exc:
        sys.stderr.write(f"hafen {process} refused to start: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(START_REFUSED_EXIT_STATUS) from None
    except DatabaseError as exc:
        logger.warning(
            "%s: could not check the encryption keys, the database is unreachable (%s); "
            "starting anyway, undecryptable values will raise when read",
            process,
            type(exc).__name__,
        )
