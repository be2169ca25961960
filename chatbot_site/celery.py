"""The Celery app. A worker or beat whose encryption keys do not fit the data does not start."""

import os

import django
from celery import Celery
from celery.signals import beat_init, worker_init
from django.apps import apps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")

app = Celery("hafen")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _refuse_unless_keys_fit(process: str) -> None:
    if not apps.ready:
        django.setup()
    # Django forces this one here: this module loads before Django is set up
    # (chatbot_site/__init__.py imports it, celery -A chatbot_site), and the
    # checks read settings and models.
    from chatbot_site.checks import refuse_to_start_unless_keys_fit

    refuse_to_start_unless_keys_fit(process)


@worker_init.connect
def _check_keys_before_the_worker_starts(sender=None, **kwargs) -> None:
    # Connected for every app in the process: only this app's workers are ours to check.
    if getattr(sender, "app", None) is app:
        _refuse_unless_keys_fit("worker")


@beat_init.connect
def _check_keys_before_beat_starts(sender=None, **kwargs) -> None:
    if getattr(sender, "app", None) is app:
        _refuse_unless_keys_fit("beat")


@app.task(name="hafen.ping")
def ping(value: int) -> int:
    """Round-trip probe for health checks and tests: returns its argument plus one."""
    return value + 1
