"""A task makes the round trip through a real broker and a real worker thread."""

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker

from chatbot_site.celery import app as configured_app
from tests.services import redis_url


def _round_trip(app: Celery) -> int:
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        return app.send_task("hafen.test_ping", args=[41]).get(timeout=20)


def _app(**conf) -> Celery:
    app = Celery("hafen-test")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(**conf)

    @app.task(name="hafen.test_ping", shared=False)
    def ping(value: int) -> int:
        return value + 1

    return app


def test_the_configured_app_uses_json_and_late_acks():
    conf = configured_app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True


@pytest.mark.django_db(transaction=True)
def test_a_task_round_trips_through_redis():
    url = redis_url()
    app = _app(broker_url=url, result_backend=url)
    assert _round_trip(app) == 42


@pytest.mark.django_db(transaction=True)
def test_a_task_round_trips_through_the_embedded_broker(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # kombu's pidbox writes a control/ folder relative to cwd
    queue = str(tmp_path / "queue")
    app = _app(
        broker_url="filesystem://",
        broker_transport_options={
            "data_folder_in": queue,
            "data_folder_out": queue,
            "processed_folder": str(tmp_path / "done"),
        },
        result_backend=f"file://{tmp_path / 'results'}",
    )
    for sub in ("queue", "done", "results", "control"):
        (tmp_path / sub).mkdir()
    assert _round_trip(app) == 42
