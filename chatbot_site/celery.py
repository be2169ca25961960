import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")

app = Celery("hafen")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="hafen.ping")
def ping(value: int) -> int:
    """Round-trip probe for health checks and tests: returns its argument plus one."""
    return value + 1
