"""The own account page: password, TOTP set-up and removal, recovery codes, sessions (issue 12)."""

import re
from base64 import b32encode

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import twofactor
from accounts.models import RecoveryCode, StaffSession
from tests.accounts.twofactor_helpers import code_for, device_for, sign_in_password

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-Much-longer-passphrase-42"


@pytest.fixture(autouse=True)
def _no_device_wait(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def _events(name):
    return LogEntry.objects.filter(additional_data__event=name)


def _two_clients(user, password):
    first, second = Client(), Client()
    for c in (first, second):
        assert sign_in_password(c, user, password).status_code == 302
    return first, second


def test_every_member_reaches_the_account_page(client, personas, login):
    for user in (personas.alice, personas.bob, personas.charlie):
        login(user)
        response = client.get("/console/account/")
        assert response.status_code == 200
        assert "Set up two-factor sign-in" in response.content.decode()


def test_account_page_needs_sign_in(client, personas):
    response = client.get("/console/account/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_header_links_to_the_account_page(client, personas, login):
    login(personas.bob)
    assert 'href="/console/account/"' in client.get("/console/").content.decode()


def test_totp_setup_page_renders_qr_without_inline_script(client, personas, login):
    login(personas.bob)
    response = client.get("/console/account/2fa/setup/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in html
    device = TOTPDevice.objects.get(user=personas.bob, confirmed=False)
    assert b32encode(device.bin_key).decode() in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    # a reload shows the same secret (same device)
    client.get("/console/account/2fa/setup/")
    assert TOTPDevice.objects.filter(user=personas.bob).count() == 1


def test_totp_setup_confirm_shows_codes_once_and_enables(client, personas, login):
    login(personas.bob)
    client.get("/console/account/2fa/setup/")
    device = TOTPDevice.objects.get(user=personas.bob)
    response = client.post("/console/account/2fa/setup/", {"code": code_for(device)})
    assert response.status_code == 200
    codes = re.findall(r"<code>([A-Z0-9-]{14})</code>", response.content.decode())
    assert len(codes) == 10
    assert twofactor.user_has_2fa(personas.bob)
    assert _events("2fa.enabled").count() == 1
    stored = set(RecoveryCode.objects.filter(user=personas.bob).values_list("code_hash", flat=True))
    assert not stored & set(codes)
    # shown once: the account page does not show them again
    assert codes[0] not in client.get("/console/account/").content.decode()
    # the setup page now sends back to the account page
    assert client.get("/console/account/2fa/setup/").status_code == 302


def test_totp_setup_wrong_code_changes_nothing(client, personas, login):
    login(personas.bob)
    client.get("/console/account/2fa/setup/")
    device = TOTPDevice.objects.get(user=personas.bob)
    good = code_for(device)
    response = client.post(
        "/console/account/2fa/setup/", {"code": f"{(int(good) + 1) % 1_000_000:06d}"}
    )
    assert response.status_code == 400
    assert "not right" in response.content.decode()
    assert not twofactor.user_has_2fa(personas.bob)
    assert not RecoveryCode.objects.filter(user=personas.bob).exists()
    for bad in ("", "abc", "1234567890"):
        assert client.post("/console/account/2fa/setup/", {"code": bad}).status_code == 400
    assert not twofactor.user_has_2fa(personas.bob)


def test_regenerate_recovery_codes_replaces_the_old(client, personas, login):
    device_for(personas.bob)
    old = twofactor.recovery_codes_generate(user=personas.bob)
    login(personas.bob)
    response = client.post("/console/account/2fa/recovery-codes/")
    new = re.findall(r"<code>([A-Z0-9-]{14})</code>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert not twofactor.recovery_code_use(user=personas.bob, code=old[0])
    assert twofactor.recovery_code_use(user=personas.bob, code=new[0])
    assert _events("2fa.recovery_codes_regenerated").count() == 1
    assert "recovery" not in str(_events("2fa.recovery_codes_regenerated").get().changes or "")
    for code in new:
        assert code not in str(list(LogEntry.objects.values()))


def test_remove_totp_needs_the_password(client, personas, login):
    device_for(personas.bob)
    twofactor.recovery_codes_generate(user=personas.bob)
    login(personas.bob)
    response = client.post("/console/account/2fa/remove/", {"password": "not-it"})
    assert response.status_code == 400
    assert twofactor.user_has_2fa(personas.bob)
    response = client.post("/console/account/2fa/remove/", {"password": personas.password})
    assert response.status_code == 302
    assert not twofactor.user_has_2fa(personas.bob)
    assert not RecoveryCode.objects.filter(user=personas.bob).exists()
    assert _events("2fa.disabled").count() == 1


def test_remove_totp_refused_when_company_requires_it(client, personas, login):
    personas.company_a.require_2fa = True
    personas.company_a.save()
    device_for(personas.bob)
    login(personas.bob)
    response = client.post("/console/account/2fa/remove/", {"password": personas.password})
    assert response.status_code == 400
    assert "requires" in response.content.decode()
    assert twofactor.user_has_2fa(personas.bob)


def test_password_change_ends_other_sessions(personas):
    first, second = _two_clients(personas.bob, personas.password)
    assert StaffSession.objects.filter(user=personas.bob).count() == 2
    response = first.post(
        "/console/account/password/",
        {
            "old_password": personas.password,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert first.get("/console/account/").status_code == 200  # still signed in
    assert second.get("/console/account/").status_code == 302  # signed out
    rows = StaffSession.objects.filter(user=personas.bob)
    assert [r.session_key for r in rows] == [first.session.session_key]
    entry = _events("password.changed").get()
    assert entry.additional_data["sessions_ended"] == 1
    assert NEW_PASSWORD not in str(list(LogEntry.objects.values()))


def test_weak_password_is_refused_and_nothing_changes(personas):
    first, second = _two_clients(personas.bob, personas.password)
    response = first.post(
        "/console/account/password/",
        {"old_password": personas.password, "new_password1": "123", "new_password2": "123"},
    )
    assert response.status_code == 400
    assert response.context["password_form"].errors
    personas.bob.refresh_from_db()
    assert personas.bob.check_password(personas.password)
    assert second.get("/console/account/").status_code == 200


def test_sign_out_other_sessions(personas):
    first, second = _two_clients(personas.bob, personas.password)
    page = first.get("/console/account/").content.decode()
    assert "this session" in page
    response = first.post("/console/account/sessions/end-others/")
    assert response.status_code == 302
    assert SESSION_KEY in first.session
    assert second.get("/console/account/").status_code == 302
    assert StaffSession.objects.filter(user=personas.bob).count() == 1
    assert _events("sessions.ended").get().additional_data["count"] == 1


def test_other_users_sessions_are_untouched(personas):
    bob1, _bob2 = _two_clients(personas.bob, personas.password)
    charlie = Client()
    sign_in_password(charlie, personas.charlie, personas.password)
    bob1.post("/console/account/sessions/end-others/")
    assert charlie.get("/console/account/").status_code == 200


def test_security_page_toggles_require_2fa(client, personas, login):
    login(personas.alice)
    assert client.get("/console/security/").status_code == 200
    response = client.post("/console/security/", {"require_2fa": "on"})
    assert response.status_code == 302
    personas.company_a.refresh_from_db()
    assert personas.company_a.require_2fa
    entry = _events("company.require_2fa_changed").get()
    assert entry.additional_data["company_id"] == personas.company_a.pk


def test_security_page_is_for_admins_only(client, personas, login):
    login(personas.bob)
    assert client.get("/console/security/").status_code == 404
    assert client.post("/console/security/", {"require_2fa": "on"}).status_code == 404
    personas.company_a.refresh_from_db()
    assert not personas.company_a.require_2fa


def test_required_2fa_redirects_to_setup_and_leaves_logout_reachable(client, personas, login):
    personas.company_a.require_2fa = True
    personas.company_a.save()
    login(personas.bob)
    for path in ("/console/", "/console/account/", "/console/conversations/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.url == "/console/account/2fa/setup/"
    assert client.get("/console/account/2fa/setup/").status_code == 200
    assert client.get("/static/console/console.css").status_code in (200, 404)  # not redirected
    # once set up, the console opens
    device = TOTPDevice.objects.get(user=personas.bob)
    client.post("/console/account/2fa/setup/", {"code": code_for(device)})
    assert client.get("/console/").status_code == 200
    # logout works at any time
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert SESSION_KEY not in client.session


def test_required_2fa_does_not_touch_the_api_or_other_companies(client, personas, login):
    personas.company_a.require_2fa = True
    personas.company_a.save()
    login(personas.dave)  # company B does not require it
    assert client.get("/console/").status_code == 200
    login(personas.bob)
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code != 302
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response.url == "/accounts/login/"
