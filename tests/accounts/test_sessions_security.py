"""Idle timeout and absolute lifetime of staff sessions (issue 12)."""

import time

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from accounts import sessions
from accounts.models import StaffSession
from tests.accounts.twofactor_helpers import sign_in_password


@pytest.fixture(autouse=True)
def _english(client):
    """Pages for signed-out people follow the browser's language: these tests read English."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


pytestmark = pytest.mark.django_db


def _move_back(client, *, started=0.0, seen=0.0):
    session = client.session
    session[sessions.STARTED_KEY] = float(session[sessions.STARTED_KEY]) - started
    session[sessions.SEEN_KEY] = float(session[sessions.SEEN_KEY]) - seen
    session.save()


def test_sign_in_stamps_the_session(client, personas):
    before = time.time()
    sign_in_password(client, personas.bob, personas.password)
    assert before <= client.session[sessions.STARTED_KEY] <= time.time()
    assert client.session[sessions.SEEN_KEY] == client.session[sessions.STARTED_KEY]


def test_cookie_lives_no_longer_than_the_absolute_lifetime(settings):
    assert settings.SESSION_COOKIE_AGE == int(settings.HAFEN_SESSION_MAX_HOURS * 3600)


def test_idle_timeout_signs_out_with_a_message(client, personas, settings):
    sign_in_password(client, personas.bob, personas.password)
    _move_back(client, seen=settings.HAFEN_SESSION_IDLE_MINUTES * 60 - 5)
    assert client.get("/console/").status_code == 200  # just inside
    _move_back(client, seen=settings.HAFEN_SESSION_IDLE_MINUTES * 60 + 5)
    response = client.get("/console/account/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=/console/account/")
    assert SESSION_KEY not in client.session
    assert not StaffSession.objects.filter(user=personas.bob).exists()
    page = client.get(response.url).content.decode()
    assert "signed out after 30 minutes without activity" in page
    # shown once
    assert "without activity" not in client.get("/accounts/login/").content.decode()


def test_idle_timeout_is_configurable(client, personas, settings):
    settings.HAFEN_SESSION_IDLE_MINUTES = 5
    sign_in_password(client, personas.bob, personas.password)
    _move_back(client, seen=6 * 60)
    assert client.get("/console/").status_code == 302
    assert SESSION_KEY not in client.session


def test_absolute_lifetime_ends_an_active_session(client, personas, settings):
    sign_in_password(client, personas.bob, personas.password)
    _move_back(client, started=settings.HAFEN_SESSION_MAX_HOURS * 3600 + 5)
    response = client.get("/console/")
    assert response.status_code == 302
    assert SESSION_KEY not in client.session
    assert "at most 12 hours" in client.get(response.url).content.decode()


def test_activity_is_written_at_most_once_a_minute(client, personas):
    sign_in_password(client, personas.bob, personas.password)
    row = StaffSession.objects.get(user=personas.bob)
    seen = client.session[sessions.SEEN_KEY]
    client.get("/console/")
    assert client.session[sessions.SEEN_KEY] == seen  # within the minute: not written
    _move_back(client, seen=61)
    client.get("/console/")
    assert client.session[sessions.SEEN_KEY] > seen - 61
    row_after = StaffSession.objects.get(pk=row.pk)
    assert row_after.last_seen_at >= row.last_seen_at
    assert row_after.last_seen_at != row.last_seen_at


def test_the_api_is_left_alone(client, personas, settings):
    sign_in_password(client, personas.bob, personas.password)
    _move_back(client, seen=settings.HAFEN_SESSION_IDLE_MINUTES * 60 + 5)
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code != 302
    assert SESSION_KEY in client.session  # not looked at by /api/
    assert client.get("/console/").status_code == 302  # the console ends it
    assert SESSION_KEY not in client.session


def test_force_login_session_starts_its_clocks(client, personas):
    client.force_login(personas.bob)
    assert client.get("/console/").status_code == 200
    assert sessions.STARTED_KEY in client.session


def test_end_sessions_keeps_the_named_one(personas):
    clients = [Client() for _ in range(3)]
    for c in clients:
        sign_in_password(c, personas.bob, personas.password)
    keep = clients[0].session.session_key
    assert sessions.end_sessions(user=personas.bob, keep_session_key=keep) == 2
    assert [c.get("/console/").status_code for c in clients] == [200, 302, 302]
    assert sessions.end_sessions(user=personas.bob) == 1
    assert clients[0].get("/console/").status_code == 302


def test_unstamped_session_is_indexed_and_can_be_ended(client, personas):
    client.force_login(personas.bob)  # a session from before the clocks existed
    client.get("/console/")
    row = StaffSession.objects.get(user=personas.bob)
    assert row.session_key == client.session.session_key
    assert sessions.end_sessions(user=personas.bob) == 1
    assert client.get("/console/").status_code == 302
