"""A new colleague, end to end: invited by an admin, sets a password and TOTP, signs in, works.

The TOTP codes are computed here from the secret the set-up page shows, as an
authenticator app would.
"""

from base64 import b32decode

import pytest
from django.core import mail
from django_otp.oath import TOTP

from accounts.models import Company
from tests.conversations.console_helpers import conversation_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "quiet-harbour-lantern-42"


def totp_code(secret: str, *, ahead: int = 0) -> str:
    """The app's code now (ahead=1: the next 30-second step, which the device's tolerance accepts)."""
    totp = TOTP(b32decode(secret.replace(" ", "")), step=30, digits=6, drift=ahead)
    return f"{totp.token():06d}"


def sign_in(page, base, username, password):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_an_admin_invites_an_operator_who_sets_password_and_totp_and_works(
    live_server, new_page, screenshot, personas
):
    base = live_server.url
    conversation_in(personas.inbox_a, status="waiting")
    conversation_in(personas.inbox_a2, status="waiting")

    # the admin invites a new operator into team Support
    admin = new_page()
    sign_in(admin, base, "alice", personas.password)
    admin.wait_for_url(f"{base}/console/")
    admin.get_by_role("link", name="People").first.click()
    admin.wait_for_url(f"{base}/console/people/")
    admin.get_by_label("E-mail address").fill("erin@acme.example")
    admin.get_by_label("Role").select_option("operator")
    admin.get_by_label("Support").check()
    admin.get_by_role("button", name="Send invitation").click()
    admin.wait_for_url(f"{base}/console/people/")
    link = admin.locator(".flash a.invite-link").get_attribute("href")
    assert link.startswith(f"{base}/accounts/invitation/")
    assert "erin@acme.example" in admin.locator("#invitations-h + ul").inner_text()
    screenshot(admin, "people-1280")
    admin.set_viewport_size({"width": 390, "height": 844})
    screenshot(admin, "people-390")

    # the invited person, in a fresh browser, follows the link and sets a password
    erin = new_page()
    erin.goto(link)
    assert erin.get_by_role("heading", name="Join Acme on Hafen").is_visible()
    screenshot(erin, "invitation-1280")
    erin.set_viewport_size({"width": 390, "height": 844})
    screenshot(erin, "invitation-390")
    erin.set_viewport_size({"width": 1280, "height": 800})
    erin.get_by_label("Username").fill("erin")
    erin.get_by_label("Password", exact=True).fill(PASSWORD)
    erin.get_by_label("Password again").fill(PASSWORD)
    erin.get_by_role("button", name="Create account and join").click()
    erin.wait_for_url(f"{base}/console/")
    assert "Operator" in erin.locator(".who").inner_text()

    # ... sets up TOTP with the secret the page shows
    erin.goto(f"{base}/console/account/2fa/setup/")
    secret = erin.locator("code.secret").inner_text()
    erin.locator("input[name=code]").fill(totp_code(secret))
    erin.locator("form button.primary").click()
    assert erin.get_by_role("heading", name="Your recovery codes").is_visible()

    # ... signs out, and in again with password and code
    erin.get_by_role("button", name="Log out").click()
    erin.wait_for_url(f"{base}/accounts/login/**")
    sign_in(erin, base, "erin", PASSWORD)
    erin.wait_for_url("**/accounts/login/code/**")
    erin.locator("input[name=code]").fill(totp_code(secret, ahead=1))
    erin.get_by_role("button", name="Sign in").click()
    erin.wait_for_url(f"{base}/console/")

    # ... and sees only the inbox of team Support
    erin.goto(f"{base}/console/conversations/")
    options = erin.locator("select[name=inbox] option").all_inner_texts()
    assert "Web" in options and "Shop" not in options
    assert "People" not in erin.locator(".mainnav").inner_text()

    # the company turns on "2FA required": a member without 2FA is sent to set-up
    Company.objects.filter(pk=personas.company_a.pk).update(require_2fa=True)
    charlie = new_page()
    sign_in(charlie, base, "charlie", personas.password)
    charlie.wait_for_url(f"{base}/console/account/2fa/setup/")
    assert charlie.get_by_role("heading", name="Set up two-factor sign-in").is_visible()
    charlie.goto(f"{base}/console/conversations/")
    assert charlie.url == f"{base}/console/account/2fa/setup/"
    # erin, who has 2FA, works on
    erin.goto(f"{base}/console/conversations/")
    assert erin.url == f"{base}/console/conversations/"


def test_a_used_invitation_link_shows_a_clear_page(live_server, new_page, screenshot, personas):
    admin = new_page()
    sign_in(admin, live_server.url, "alice", personas.password)
    admin.goto(f"{live_server.url}/console/people/")
    admin.get_by_label("E-mail address").fill("fred@acme.example")
    admin.get_by_role("button", name="Send invitation").click()
    link = admin.locator(".flash a.invite-link").get_attribute("href")
    assert link in mail.outbox[-1].body
    admin.get_by_role("button", name="Revoke").click()
    visitor = new_page()
    response = visitor.goto(link)
    assert response.status == 410
    assert visitor.get_by_role("heading", name="This invitation cannot be used").is_visible()
    screenshot(visitor, "invitation-revoked")


def test_the_last_admin_sees_why_she_cannot_demote_herself(
    live_server, new_page, screenshot, personas
):
    page = new_page()
    sign_in(page, live_server.url, "alice", personas.password)
    page.goto(f"{live_server.url}/console/people/{personas.alice.pk}/")
    page.locator("select[name=role]").select_option("viewer")
    page.get_by_role("button", name="Change role").click()
    assert "last admin" in page.get_by_role("alert").first.inner_text()
    screenshot(page, "member-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/console/people/{personas.bob.pk}/")
    screenshot(page, "member-390")
