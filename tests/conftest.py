import time
import uuid

import pytest
from django.utils import translation

from accounts.sessions import session_security_start, staff_session_start
from tests.personas import Personas, make_personas


@pytest.fixture
def personas(db) -> Personas:
    return make_personas()


@pytest.fixture
def login(client):
    """Log a persona in on the Django test client: login(personas.alice)."""

    def _login(user):
        client.force_login(user)
        # What a real sign-in adds (accounts.signin.signin_complete): the session's
        # idle/lifetime clocks and its StaffSession row, so the first request
        # does not write them (query counts stay those of the page).
        session = client.session
        session_security_start(session, now=time.time())
        session.save()
        staff_session_start(user=user, session_key=session.session_key, user_agent="")
        return client

    return _login


@pytest.fixture
def encryption_sentinel(db):
    """The key sentinel row that migration accounts/0002 writes.

    A transactional test's flush removes it; under pytest-xdist such a test may
    have run earlier in the same worker, so tests that rely on it ask for it.
    """
    from accounts.models import EncryptionSentinel

    if not EncryptionSentinel.objects.exists():
        EncryptionSentinel.objects.create(value=EncryptionSentinel.SENTINEL)


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """Each test starts in English, as the assertions are written.

    A request activates its page's language in the thread and leaves it active
    (Django does not reset it); without this, a service or command called after
    a German page in the same worker would answer in German.
    """
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests create users by the dozen; PBKDF2's cost is for production, not for fixtures."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _erasure_ledger_in_tmp(settings, tmp_path):
    """Every erasure appends to the ledger file: tests keep theirs out of var/."""
    settings.HAFEN_ERASURE_LEDGER_PATH = str(tmp_path / "erasure-ledger.jsonl")


@pytest.fixture(autouse=True)
def fresh_rate_limits(settings):
    """Each test counts rate limits in its own namespace; the limits are the defaults.

    The chat API, the consent and self-service endpoints count per minute in the
    cache; a test never inherits another test's counts.
    """
    settings.HAFEN_RATE_KEY_PREFIX = f"test-rl:{uuid.uuid4().hex}"
