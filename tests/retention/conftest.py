import pytest

from tests.conversations.chat_support import fresh_rate_limits  # noqa: F401 (autouse fixture)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The personas' passwords are hashed on every test; retention tests are not about that.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
