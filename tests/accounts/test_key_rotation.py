"""Key rotation re-encrypts every value, never writes back a value that changed, and
retires the old first key (chatbot_site/lib/keyrotation.py)."""

import random
import threading

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test import override_settings

from chatbot_site.checks import check_encryption_keys
from chatbot_site.lib import keyrotation
from chatbot_site.lib.crypto import EncryptionKeyError, encryption_keys_check
from consent.services.visitors import contact_details_give, contact_details_withdraw
from conversations.models import Message, Visitor
from tests.consent.helpers import raw_visitor_row
from tests.factories import ConversationFactory, MessageFactory, VisitorFactory

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrent writers need PostgreSQL"
)


def raw_body(message_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM conversations_message WHERE id = %s", [message_id])
        return cursor.fetchone()[0]


def raw_values() -> list[str]:
    """Every non-empty encrypted value in the database, as stored."""
    values = []
    with connection.cursor() as cursor:
        for table, column in [
            ("accounts_encryptionsentinel", "value"),
            ("conversations_visitor", "name"),
            ("conversations_visitor", "email"),
            ("conversations_visitor", "phone"),
            ("conversations_message", "body"),
        ]:
            cursor.execute(f"SELECT {column} FROM {table} WHERE {column} <> ''")  # noqa: S608
            values.extend(row[0] for row in cursor.fetchall())
    return values


def with_contact(inbox, n: int) -> tuple[Visitor, str]:
    visitor = VisitorFactory(inbox=inbox)
    email = f"rotation.canary{n}@example.org"
    contact_details_give(
        visitor=visitor,
        name=f"Canary Rotator {n}",
        email=email,
        phone="",
        purpose="So we can write back.",
        opt_in=True,
    )
    conversation = ConversationFactory(inbox=inbox, visitor=visitor)
    MessageFactory(conversation=conversation, body=f"please write to {email} soon")
    return visitor, email


def test_rotation_re_encrypts_every_row_with_the_new_key(settings):
    old_keys = list(settings.FIELD_ENCRYPTION_KEY)
    message = MessageFactory(body="rotation canary 4711")
    new_key = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEY=[new_key, *old_keys]):
        call_command("rotate_encryption_keys", "--batch-size", "1", "--no-progress")
    # The new key alone now decrypts the row and the sentinel; the old one does not.
    assert Fernet(new_key).decrypt(raw_body(message.pk).encode()) == b"rotation canary 4711"
    with pytest.raises(InvalidToken):
        MultiFernet([Fernet(k) for k in old_keys]).decrypt(raw_body(message.pk).encode())
    with override_settings(FIELD_ENCRYPTION_KEY=[new_key]):
        assert check_encryption_keys() == []
        assert Message.objects.get(pk=message.pk).body == "rotation canary 4711"
    for value in raw_values():
        Fernet(new_key).decrypt(value.encode())  # raises if any value was left behind


def test_rotation_stops_on_a_value_no_key_decrypts(settings):
    message = MessageFactory(body="x")
    stranger = Fernet(Fernet.generate_key()).encrypt(b"foreign").decode()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE conversations_message SET body = %s WHERE id = %s", [stranger, message.pk]
        )
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("rotate_encryption_keys", "--no-progress")
    assert raw_body(message.pk) == stranger


def test_a_second_run_rewrites_only_what_is_not_under_the_first_key(settings):
    old_keys = list(settings.FIELD_ENCRYPTION_KEY)
    MessageFactory.create_batch(3)
    new_key = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEY=[new_key, *old_keys]):
        first = keyrotation.encryption_keys_rotate(batch_size=2, progress=False)
        before = raw_values()
        second = keyrotation.encryption_keys_rotate(batch_size=2, progress=False)
    assert first.rewritten >= 4 and second.rewritten == 0
    assert second.current == first.total
    assert raw_values() == before  # not one value rewritten


def test_a_withdrawal_between_read_and_write_stays_done(personas, settings, monkeypatch):
    """Deterministic: the visitor withdraws after the rotation read the batch and before
    it writes it back. The write must not bring the contact details back."""
    old_keys = list(settings.FIELD_ENCRYPTION_KEY)
    visitor, email = with_contact(personas.inbox_a, 1)
    message = Message.objects.get(conversation__visitor=visitor)
    reencrypt = keyrotation._reencrypt
    withdrawn = []

    def withdraw_in_the_middle(*, column, row_pk, token):
        if not withdrawn and column.table == "conversations_visitor":
            contact_details_withdraw(visitor=Visitor.objects.get(pk=visitor.pk))
            withdrawn.append(row_pk)
        return reencrypt(column=column, row_pk=row_pk, token=token)

    monkeypatch.setattr(keyrotation, "_reencrypt", withdraw_in_the_middle)
    with override_settings(FIELD_ENCRYPTION_KEY=[Fernet.generate_key().decode(), *old_keys]):
        summary = keyrotation.encryption_keys_rotate(batch_size=100, progress=False)
        body = Message.objects.get(pk=message.pk).body
    assert withdrawn == [visitor.pk]
    assert summary.changed_meanwhile >= 1
    assert raw_visitor_row(visitor.pk) == {"name": "", "email": "", "phone": "", "email_index": ""}
    assert email not in body


def test_the_rotation_retires_the_old_first_key(settings, encryption_sentinel):
    old_keys = list(settings.FIELD_ENCRYPTION_KEY)
    new_key = Fernet.generate_key().decode()
    MessageFactory()
    with override_settings(FIELD_ENCRYPTION_KEY=[new_key, *old_keys]):
        encryption_keys_check()  # the new list is deployed before the rotation: allowed
        keyrotation.encryption_keys_rotate(progress=False)
        encryption_keys_check()
    with override_settings(FIELD_ENCRYPTION_KEY=[new_key]):
        encryption_keys_check()  # the old key dropped
    # A process still on the list from before the rotation is refused, whether it
    # lacks the new key or has it behind the old one.
    with override_settings(FIELD_ENCRYPTION_KEY=old_keys):
        with pytest.raises(EncryptionKeyError, match="cannot decrypt"):
            encryption_keys_check()
    with override_settings(FIELD_ENCRYPTION_KEY=[*old_keys, new_key]):
        with pytest.raises(EncryptionKeyError, match="retired by a key rotation"):
            encryption_keys_check()
        assert [e.id for e in check_encryption_keys()] == ["hafen.E001"]
        with pytest.raises(CommandError, match="retired"):
            call_command("rotate_encryption_keys", "--no-progress")


def test_a_batch_size_below_one_is_refused():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("rotate_encryption_keys", "--batch-size", "0", "--no-progress")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_rotation_never_resurrects_contact_details_withdrawn_while_it_runs(personas, settings):
    """Real threads on PostgreSQL: visitors withdraw while the rotation runs."""
    old_keys = list(settings.FIELD_ENCRYPTION_KEY)
    visitors = [with_contact(personas.inbox_a, n) for n in range(120)]
    # Visitors who stay: the rotation must still re-encrypt their details.
    kept = [with_contact(personas.inbox_a2, 1000 + n) for n in range(20)]
    to_withdraw = [v.pk for v, _email in visitors]
    random.Random(7).shuffle(to_withdraw)
    new_key = Fernet.generate_key().decode()
    errors: list[BaseException] = []
    start = threading.Barrier(5)
    results = []

    def withdrawer(ids: list[int]) -> None:
        try:
            start.wait()
            for pk in ids:
                contact_details_withdraw(visitor=Visitor.objects.get(pk=pk))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def rotator() -> None:
        try:
            start.wait()
            for _ in range(3):  # several passes, so every withdrawal overlaps one
                results.append(keyrotation.encryption_keys_rotate(batch_size=40, progress=False))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    with override_settings(FIELD_ENCRYPTION_KEY=[new_key, *old_keys]):
        threads = [threading.Thread(target=withdrawer, args=(to_withdraw[i::4],)) for i in range(4)]
        threads.append(threading.Thread(target=rotator))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        # A last pass after everyone is done: every value under the new key.
        keyrotation.encryption_keys_rotate(progress=False)
        bodies = {
            m.conversation.visitor_id: m.body
            for m in Message.objects.select_related("conversation")
        }
        kept_details = {
            v.pk: (v.name, v.email) for v in Visitor.objects.filter(pk__in=[v.pk for v, _ in kept])
        }

    resurrected = [
        pk
        for pk, _email in ((v.pk, e) for v, e in visitors)
        if raw_visitor_row(pk) != {"name": "", "email": "", "phone": "", "email_index": ""}
    ]
    assert resurrected == []
    # The race was really run: some rows changed between the rotation's read and write.
    assert sum(r.changed_meanwhile for r in results) > 0
    assert [v.pk for v, email in visitors if email in bodies[v.pk]] == []
    assert all(
        kept_details[v.pk] == (f"Canary Rotator {1000 + n}", email)
        for n, (v, email) in enumerate(kept)
    )
    for value in raw_values():
        Fernet(new_key).decrypt(value.encode())
