"""Message text is ciphertext in the database, and no plaintext leaks elsewhere.

A canary string goes through the chat API; afterwards no table (raw SQL over
every table), no log line and no Celery payload holds it.
"""

import logging

import pytest
from celery.signals import before_task_publish
from django.db import connection

from conversations.models import Message
from tests.canary import raw_table_text
from tests.conversations.chat_support import (
    handover,
    poll,
    post,
    start,
)

pytestmark = pytest.mark.django_db

CANARY = "kanarienvogel-7f3a9c"
CANARY_EMAIL = "canary.7f3a9c@example.org"
CANARY_PHONE = "+49 30 901820"


@pytest.fixture
def published_tasks():
    sent = []

    def record(sender=None, body=None, headers=None, **kwargs):
        sent.append((sender, repr(body), repr(headers)))

    before_task_publish.connect(record, weak=False)
    yield sent
    before_task_publish.disconnect(record)


def test_a_message_body_is_stored_encrypted(client, personas):
    token = start(client, "acme-web").json()["token"]
    post(client, "acme-web", token, f"secret {CANARY}")
    message = Message.objects.get(sender="visitor")
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM conversations_message WHERE id = %s", [message.pk])
        (raw,) = cursor.fetchone()
    assert CANARY not in raw
    assert raw.startswith("gAAAAA")  # a Fernet token
    assert message.body == f"secret {CANARY}"


def test_no_table_log_or_task_payload_holds_the_canary(client, personas, caplog, published_tasks):
    caplog.set_level(logging.DEBUG)
    token = start(client, "acme-web").json()["token"]
    post(client, "acme-web", token, f"hello {CANARY}, mail {CANARY_EMAIL} or call {CANARY_PHONE}")
    post(client, "acme-web", token, f"{CANARY} again")
    poll(client, "acme-web", token)
    handover(client, "acme-web", token)

    dump = raw_table_text()
    assert Message.objects.filter(sender="visitor").count() == 2
    for secret in (CANARY, CANARY_EMAIL, "901820"):
        assert secret not in dump
        assert secret not in caplog.text
        assert all(secret not in str(item) for item in published_tasks)
    assert published_tasks == []  # the chat sends no Celery task at all
