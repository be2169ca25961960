import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def raw_body(message_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM conversations_message WHERE id = %s", [message_id])
        return cursor.fetchone()[0]


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
    from chatbot_site.checks import check_encryption_keys

    with override_settings(FIELD_ENCRYPTION_KEY=[new_key]):
        assert check_encryption_keys() == []


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
