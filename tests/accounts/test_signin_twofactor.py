"""Sign-in in two steps: password, then a TOTP code or a recovery code (issue 12)."""

import time

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import SESSION_KEY

from accounts import twofactor
from accounts.models import StaffSession
from accounts.signin import PENDING_KEY
from tests.accounts.twofactor_helpers import code_for, device_for, sign_in_password
from tests.canary import raw_table_text


@pytest.fixture(autouse=True)
def _english(client):
    """Pages for signed-out people follow the browser's language: these tests read English."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_device_wait(settings):
    """django-otp waits 1, 2, 4 ... s after a wrong code; the tests below try again at once."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def _signed_in(client) -> bool:
    return SESSION_KEY in client.session


def _events(name):
    return LogEntry.objects.filter(additional_data__event=name)


def test_password_only_user_signs_in_in_one_step(client, personas):
    response = sign_in_password(client, personas.bob, personas.password)
    assert response.status_code == 302
    assert _signed_in(client)
    row = StaffSession.objects.get(user=personas.bob)
    assert row.session_key == client.session.session_key
    entry = _events("signin.succeeded").get()
    assert entry.additional_data["company_id"] == personas.company_a.pk
    assert personas.password not in str(entry.additional_data)


def test_user_agent_is_cut_and_no_address_kept(client, personas):
    client.post(
        "/accounts/login/",
        {"username": "bob", "password": personas.password},
        HTTP_USER_AGENT="Mozilla/5.0 " + "x" * 400,
        REMOTE_ADDR="203.0.113.77",
    )
    row = StaffSession.objects.get(user=personas.bob)
    assert len(row.user_agent) == 200
    assert "203.0.113.77" not in str(StaffSession.objects.values().get())


def test_wrong_password_same_answer_for_unknown_user(client, personas):
    known = client.post("/accounts/login/", {"username": "bob", "password": "wrong-one"})
    unknown = client.post("/accounts/login/", {"username": "nobody", "password": "wrong-one"})
    assert known.status_code == unknown.status_code == 400
    assert known.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()
    assert not _signed_in(client)


def test_totp_user_is_not_signed_in_after_the_password(client, personas):
    device = device_for(personas.bob)
    response = sign_in_password(client, personas.bob, personas.password)
    assert response.status_code == 302 and response.url == "/accounts/login/code/"
    assert not _signed_in(client)
    assert client.session[PENDING_KEY]["user_id"] == personas.bob.pk
    assert client.get("/console/").status_code == 302  # still anonymous

    response = client.post("/accounts/login/code/", {"code": code_for(device)})
    assert response.status_code == 302
    assert _signed_in(client)
    assert PENDING_KEY not in client.session
    assert _events("signin.succeeded").get().additional_data["two_factor"] is True
    assert StaffSession.objects.filter(user=personas.bob).count() == 1


def test_wrong_code_is_refused_with_a_message(client, personas):
    device = device_for(personas.bob)
    sign_in_password(client, personas.bob, personas.password)
    good = code_for(device)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    response = client.post("/accounts/login/code/", {"code": wrong})
    assert response.status_code == 400
    assert "not right" in str(response.context["form"].errors["code"])
    assert not _signed_in(client)
    # counted as a failed sign-in by the throttle (its audit event)
    assert _events("signin.failed").count() == 1
    assert not _events("signin.succeeded").exists()


def test_replayed_code_is_refused(client, personas, django_user_model):
    device = device_for(personas.bob)
    code = code_for(device)
    sign_in_password(client, personas.bob, personas.password)
    assert client.post("/accounts/login/code/", {"code": code}).status_code == 302
    client.post("/accounts/logout/")
    assert not _signed_in(client)

    sign_in_password(client, personas.bob, personas.password)
    response = client.post("/accounts/login/code/", {"code": code})
    assert response.status_code == 400
    assert not _signed_in(client)
    # the next step's code still works
    response = client.post("/accounts/login/code/", {"code": code_for(device, offset_steps=1)})
    assert response.status_code == 302 and _signed_in(client)


def test_recovery_code_works_once(client, personas):
    device_for(personas.bob)
    codes = twofactor.recovery_codes_generate(user=personas.bob)
    assert len(codes) == 10 and len(set(codes)) == 10
    sign_in_password(client, personas.bob, personas.password)
    response = client.post("/accounts/login/code/", {"code": codes[3].lower()})
    assert response.status_code == 302 and _signed_in(client)
    assert _events("2fa.recovery_code_used").count() == 1
    assert twofactor.recovery_codes_left(user=personas.bob) == 9
    client.post("/accounts/logout/")

    sign_in_password(client, personas.bob, personas.password)
    response = client.post("/accounts/login/code/", {"code": codes[3]})
    assert response.status_code == 400
    assert not _signed_in(client)


def test_recovery_codes_are_stored_hashed(client, personas):
    codes = twofactor.recovery_codes_generate(user=personas.bob)
    dump = raw_table_text()
    for code in codes:
        assert code not in dump
        assert code.replace("-", "") not in dump


def test_pending_step_expires(client, personas, settings):
    device = device_for(personas.bob)
    sign_in_password(client, personas.bob, personas.password)
    session = client.session
    pending = session[PENDING_KEY]
    pending["at"] = time.time() - settings.HAFEN_SIGNIN_PENDING_SECONDS - 1
    session[PENDING_KEY] = pending
    session.save()
    response = client.post("/accounts/login/code/", {"code": code_for(device)}, follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/"
    assert "took too long" in response.content.decode()
    assert not _signed_in(client)
    device.refresh_from_db()
    assert device.last_t == -1  # the code was not even checked


def test_code_page_without_password_step_goes_to_login(client, personas):
    response = client.get("/accounts/login/code/")
    assert response.status_code == 302 and response.url == "/accounts/login/"


def test_throttled_code_step_is_refused_before_checking(client, personas, settings):
    settings.HAFEN_SIGNIN_SLOWDOWN_AFTER = 1
    device = device_for(personas.bob)
    sign_in_password(client, personas.bob, personas.password)
    client.post("/accounts/login/code/", {"code": "000000"})  # one failure: slow-down starts
    response = client.post("/accounts/login/code/", {"code": code_for(device)})
    assert response.status_code == 429
    assert "Retry-After" in response
    assert not _signed_in(client)
    device.refresh_from_db()
    assert device.last_t == -1


def test_next_is_kept_across_the_second_step(client, personas):
    device = device_for(personas.bob)
    sign_in_password(client, personas.bob, personas.password, next_url="/console/account/")
    response = client.post("/accounts/login/code/", {"code": code_for(device)})
    assert response.url == "/console/account/"


def test_offsite_next_is_ignored(client, personas):
    response = sign_in_password(
        client, personas.bob, personas.password, next_url="https://evil.example/"
    )
    assert response.url == "/console/"


def test_logout_deletes_the_staff_session(client, personas):
    sign_in_password(client, personas.bob, personas.password)
    assert StaffSession.objects.filter(user=personas.bob).count() == 1
    client.post("/accounts/logout/")
    assert not StaffSession.objects.filter(user=personas.bob).exists()
    assert not _signed_in(client)
