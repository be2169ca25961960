"""Two-factor set-up, sign-in step 2 and the account page in Chromium, with screenshots."""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.twofactor_helpers import code_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _both_widths(page, screenshot, name):
    page.set_viewport_size({"width": 1280, "height": 800})
    screenshot(page, f"{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 800})


def test_set_up_totp_then_sign_in_with_a_code(live_server, new_page, screenshot, personas):
    base = live_server.url
    errors = []
    page = new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(personas.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/console/")

    page.locator(".who a.user").click()
    page.wait_for_url(f"{base}/console/account/")
    assert page.get_by_role("heading", name="Your account").is_visible()
    _both_widths(page, screenshot, "account")

    page.get_by_role("link", name="Set up two-factor sign-in").click()
    page.wait_for_url(f"{base}/console/account/2fa/setup/")
    assert page.locator(".qr svg").is_visible()
    _both_widths(page, screenshot, "totp-setup")
    device = TOTPDevice.objects.get(user=personas.bob)
    page.get_by_label("Code from the app").fill(code_for(device))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    assert page.get_by_role("heading", name="Your recovery codes").is_visible()
    assert page.locator("ul.codes li").count() == 10
    _both_widths(page, screenshot, "recovery-codes")
    page.get_by_role("link", name="I have saved them").click()
    page.wait_for_url(f"{base}/console/account/")
    _both_widths(page, screenshot, "account-with-2fa")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/accounts/login/**")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(personas.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/accounts/login/code/")
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").first.is_visible()
    _both_widths(page, screenshot, "login-step2-error")
    page.wait_for_timeout(1500)  # django-otp makes a device wait 1 s after a wrong code
    page.get_by_label("Code").fill(code_for(device, offset_steps=1))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console/")
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_an_admin_requires_2fa_on_the_security_page(live_server, new_page, screenshot, personas):
    base = live_server.url
    page = new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(personas.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/console/")
    page.goto(f"{base}/console/security/")
    _both_widths(page, screenshot, "security")
    page.get_by_label("Two-factor sign-in required for all staff").check()
    page.get_by_role("button", name="Save").click()
    # alice has no 2FA herself: she is sent to set it up
    page.goto(f"{base}/console/")
    page.wait_for_url(f"{base}/console/account/2fa/setup/")
    _both_widths(page, screenshot, "setup-required")
