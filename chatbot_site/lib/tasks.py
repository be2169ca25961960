"""Queue a Celery task from a request without ever failing the request.

    transaction.on_commit(lambda: enqueue_or_defer(
        "retention.run_company", kwargs={"company_id": company_id},
        deferred_to="retention.run_due (beat, every 15 minutes)"))

Invariant: only for work that something else picks up anyway (the caller names
what in `deferred_to`, and the log line says it). When the broker (or the
result backend, which Celery subscribes to when it sends a task) cannot be
reached, the task is not queued, one warning with the task's name and the
error's type is logged, and the caller carries on. Settings keep the attempt
short (CELERY_TASK_PUBLISH_RETRY_POLICY, HAFEN_BROKER_TIMEOUT).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app

logger = logging.getLogger(__name__)


def enqueue_or_defer(task: Any, *, kwargs: dict[str, Any], deferred_to: str) -> bool:
    """task.delay(**kwargs); False (and a warning) when it could not be queued.

    `task` is a task or the name of a registered one: by name, a service can
    queue a task of its own app's tasks.py (which imports the services) without
    importing it. kwargs hold ids and primitives only, never personal data (they
    go to the broker).
    """
    if isinstance(task, str):
        task = current_app.tasks[task]
    try:
        task.delay(**kwargs)
    except Exception as exc:  # noqa: BLE001 - kombu, redis and socket errors alike
        logger.warning(
            "task %s not queued (%s: the broker is unavailable); left to %s",
            task.name,
            type(exc).__name__,
            deferred_to,
        )
        return False
    return True
