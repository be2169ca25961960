"""Invitations: sent by an admin, mailed, one-time, expiring; accepted by new and existing people."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, Membership
from accounts.services import team_create
from chatbot_site.lib.audit import audit_entries_for_company
from chatbot_site.lib.crypto import hash_token


@pytest.fixture(autouse=True)
def _english(client):
    """Pages for signed-out people follow the browser's language: these tests read English."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


pytestmark = pytest.mark.django_db

LINK = re.compile(r"(https?://[^\s\"<]+/accounts/invitation/([A-Za-z0-9_\-]+)/)")
STRONG = "quiet-harbour-lantern-42"


def events(company, event):
    return [
        e for e in audit_entries_for_company(company.pk) if e.additional_data.get("event") == event
    ]


def invite(client, personas, email="new.person@example.com", role="operator", teams=None):
    data = {"email": email, "role": role}
    if teams is not None:
        data["teams"] = [t.pk for t in teams]
    return client.post(reverse("accounts:people"), data)


def last_link() -> tuple[str, str]:
    found = LINK.search(mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(1), found.group(2)


def accept_url(secret: str) -> str:
    return reverse("accounts:invitation_accept", kwargs={"secret": secret})


def sign_up(client, secret, username="new.person@example.com", password=STRONG, again=None):
    return client.post(
        accept_url(secret),
        {"username": username, "new_password1": password, "new_password2": again or password},
    )


def test_an_admin_invites_a_person_who_gets_a_mail_with_a_one_time_link(personas, login, settings):
    settings.HAFEN_PUBLIC_URL = "https://chat.example.com"
    client = login(personas.alice)
    response = invite(client, personas, teams=[personas.support])
    assert response.status_code == 302 and response["Location"] == reverse("accounts:people")

    [message] = mail.outbox
    assert message.to == ["new.person@example.com"]
    assert "Acme" in message.subject
    link, secret = last_link()
    assert link.startswith("https://chat.example.com/accounts/invitation/")
    invitation = Invitation.objects.get()
    assert invitation.token_hash == hash_token(secret) and secret not in invitation.token_hash
    assert list(invitation.teams.all()) == [personas.support]
    assert invitation.expires_at - timezone.now() > timedelta(hours=71)
    # the admin sees the link once, in the flash message after the redirect
    page = client.get(reverse("accounts:people"))
    assert link.encode() in page.content
    assert b"new.person@example.com" in page.content  # in the pending list
    [entry] = events(personas.company_a, "invitation.sent")
    assert entry.additional_data["role"] == "operator"
    assert entry.additional_data["team_ids"] == [personas.support.pk]
    assert "example.com" not in str(entry.additional_data) and "example.com" not in str(
        entry.changes
    )


def test_the_mail_is_in_the_companys_language(personas, login):
    # The role label is translated already; the lead adds the mail's own German text
    # with the other strings of issue 12 (locale/).
    personas.company_a.language = "de"
    personas.company_a.save()
    invite(login(personas.alice), personas, role="viewer")
    assert "Betrachter" in mail.outbox[0].body
    personas.company_a.language = "en"
    personas.company_a.save()
    invite(login(personas.alice), personas, email="other@example.com", role="viewer")
    assert "Viewer" in mail.outbox[1].body and "Betrachter" not in mail.outbox[1].body


def test_without_a_public_url_the_link_uses_the_requests_host(personas, login, settings):
    settings.HAFEN_PUBLIC_URL = ""
    invite(login(personas.alice), personas)
    assert last_link()[0].startswith("http://testserver/accounts/invitation/")


def test_the_ttl_setting_sets_the_expiry(personas, login, settings):
    settings.HAFEN_INVITATION_TTL_HOURS = 2
    invite(login(personas.alice), personas)
    left = Invitation.objects.get().expires_at - timezone.now()
    assert timedelta(hours=1, minutes=59) < left <= timedelta(hours=2)


@pytest.mark.parametrize(
    "email, role, message",
    [
        ("not-an-address", "operator", b"valid email"),
        ("x@example.com", "owner", b"valid choice"),
        ("", "operator", b"required"),
    ],
)
def test_bad_invitations_get_a_form_error_and_nothing_is_sent(
    personas, login, email, role, message
):
    response = invite(login(personas.alice), personas, email=email, role=role)
    assert response.status_code == 400
    assert message in response.content
    assert not Invitation.objects.exists() and not mail.outbox


def test_another_companys_team_is_refused(personas, login):
    other = team_create(company=personas.company_b, name="Elsewhere")
    response = invite(login(personas.alice), personas, teams=[other])
    assert response.status_code == 400
    assert not Invitation.objects.exists() and not mail.outbox


def test_inviting_an_active_member_is_a_form_error(personas, login):
    personas.bob.email = "Bob@Example.com"
    personas.bob.save()
    response = invite(login(personas.alice), personas, email="bob@example.COM")
    assert response.status_code == 400
    assert b"already a member" in response.content
    assert not Invitation.objects.exists() and not mail.outbox


def test_inviting_an_address_with_a_pending_invitation_is_a_form_error(personas, login):
    client = login(personas.alice)
    invite(client, personas)
    response = invite(client, personas, email="NEW.person@example.com")
    assert response.status_code == 400
    assert b"pending" in response.content
    assert Invitation.objects.count() == 1 and len(mail.outbox) == 1


def test_a_new_person_sets_a_password_and_lands_in_the_console_with_role_and_teams(
    client, personas, login
):
    invite(login(personas.alice), personas, teams=[personas.support])
    _link, secret = last_link()
    client.logout()
    page = client.get(accept_url(secret))
    assert page.status_code == 200
    assert b"Acme" in page.content and b"new.person@example.com" in page.content

    response = sign_up(client, secret, username="newbie")
    assert response.status_code == 302 and response["Location"] == reverse("accounts:home")
    user = get_user_model().objects.get(username="newbie")
    assert user.email == "new.person@example.com" and user.check_password(STRONG)
    membership = Membership.objects.get(user=user)
    assert membership.company == personas.company_a and membership.role == "operator"
    assert personas.support.group.user_set.filter(pk=user.pk).exists()
    assert client.get(reverse("accounts:home")).status_code == 200  # signed in
    invitation = Invitation.objects.get()
    assert invitation.accepted_at is not None and invitation.accepted_by == user
    [entry] = events(personas.company_a, "invitation.accepted")
    assert entry.additional_data["user_id"] == user.pk


def test_the_username_defaults_to_the_email(client, personas, login):
    invite(login(personas.alice), personas)
    _link, secret = last_link()
    client.logout()
    assert b'value="new.person@example.com"' in client.get(accept_url(secret)).content
    assert sign_up(client, secret).status_code == 302
    assert get_user_model().objects.filter(username="new.person@example.com").exists()


@pytest.mark.parametrize(
    "username, password, again, message",
    [
        ("newbie", "short", None, b"too short"),
        ("newbie", "12345678901", None, b"entirely numeric"),
        ("newbie", "new.person@example.com", None, b"too similar"),
        ("newbie", STRONG, STRONG + "x", b"differ"),
        ("alice", STRONG, None, b"taken"),
        ("ALICE", STRONG, None, b"taken"),
        ("bad name!", STRONG, None, b"valid username"),
    ],
)
def test_a_weak_password_or_taken_username_is_refused_and_the_link_still_works(
    client, personas, login, username, password, again, message
):
    invite(login(personas.alice), personas)
    _link, secret = last_link()
    client.logout()
    users = get_user_model().objects.count()
    response = sign_up(client, secret, username=username, password=password, again=again)
    assert response.status_code == 400
    assert message in response.content
    assert get_user_model().objects.count() == users
    assert Invitation.objects.get().accepted_at is None
    assert sign_up(client, secret, username="newbie").status_code == 302


def test_a_used_link_is_refused_with_410_and_changes_nothing(client, personas, login):
    invite(login(personas.alice), personas)
    _link, secret = last_link()
    client.logout()
    sign_up(client, secret, username="first")
    client.logout()
    for response in (client.get(accept_url(secret)), sign_up(client, secret, username="second")):
        assert response.status_code == 410
        assert b"used already" in response.content
    assert not get_user_model().objects.filter(username="second").exists()
    assert Membership.objects.filter(company=personas.company_a).count() == 4


def test_an_expired_link_is_refused_with_410(client, personas, login):
    invite(login(personas.alice), personas)
    _link, secret = last_link()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client.logout()
    response = sign_up(client, secret, username="late")
    assert response.status_code == 410 and b"expired" in response.content
    assert not get_user_model().objects.filter(username="late").exists()


def test_a_revoked_link_is_refused_with_410(client, personas, login):
    admin = login(personas.alice)
    invite(admin, personas)
    _link, secret = last_link()
    invitation = Invitation.objects.get()
    url = reverse("accounts:invitation_revoke", kwargs={"invitation_id": invitation.pk})
    assert admin.post(url).status_code == 302
    assert len(events(personas.company_a, "invitation.revoked")) == 1
    assert admin.post(url).status_code == 302  # twice: a message, no second entry
    assert len(events(personas.company_a, "invitation.revoked")) == 1
    client.logout()
    response = sign_up(client, secret, username="revoked")
    assert response.status_code == 410 and b"withdrawn" in response.content
    assert not get_user_model().objects.filter(username="revoked").exists()


@pytest.mark.parametrize(
    "tamper",
    [lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"), lambda s: s[:10], lambda s: "x" * 300],
)
def test_a_tampered_link_is_refused_with_400(client, personas, login, tamper):
    invite(login(personas.alice), personas)
    _link, secret = last_link()
    client.logout()
    response = sign_up(client, tamper(secret), username="tamper")
    assert response.status_code == 400 and b"not valid" in response.content
    assert Invitation.objects.get().accepted_at is None
    assert not get_user_model().objects.filter(username="tamper").exists()


def test_resend_makes_a_new_link_and_the_old_one_stops_working(client, personas, login):
    admin = login(personas.alice)
    invite(admin, personas)
    old_link, old_secret = last_link()
    invitation = Invitation.objects.get()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(hours=1))  # expired: resendable
    url = reverse("accounts:invitation_resend", kwargs={"invitation_id": invitation.pk})
    assert admin.post(url).status_code == 302
    new_link, new_secret = last_link()
    assert len(mail.outbox) == 2 and new_secret != old_secret
    invitation.refresh_from_db()
    assert invitation.sent_count == 2 and invitation.expires_at > timezone.now()
    assert new_link.encode() in admin.get(reverse("accounts:people")).content
    [entry] = events(personas.company_a, "invitation.resent")
    assert entry.additional_data["sent_count"] == 2
    client.logout()
    assert client.get(accept_url(old_secret)).status_code == 400
    assert client.get(accept_url(new_secret)).status_code == 200


def test_an_accepted_invitation_cannot_be_resent_or_revoked(client, personas, login):
    invite(login(personas.alice), personas)
    _link, secret = last_link()
    client.logout()
    sign_up(client, secret, username="joined")
    invitation = Invitation.objects.get()
    admin = login(personas.alice)
    for name in ("invitation_resend", "invitation_revoke"):
        response = admin.post(reverse(f"accounts:{name}", kwargs={"invitation_id": invitation.pk}))
        assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.sent_count == 1 and invitation.revoked_at is None
    assert len(mail.outbox) == 1


def test_a_person_with_an_account_signs_in_and_joins_a_second_company(client, personas, login):
    personas.dave.email = "dave@bravo.example"
    personas.dave.save()
    invite(login(personas.alice), personas, email="DAVE@bravo.example", role="viewer")
    _link, secret = last_link()
    client.logout()
    page = client.get(accept_url(secret))
    assert page.status_code == 200 and b"Sign in to accept" in page.content
    assert b"new_password1" not in page.content
    # a POST while signed out creates nothing
    assert sign_up(client, secret, username="dave2").status_code == 400
    assert Invitation.objects.get().accepted_at is None

    client.force_login(personas.dave)
    assert client.get(accept_url(secret)).status_code == 200
    response = client.post(accept_url(secret))
    assert response.status_code == 302
    roles = dict(Membership.objects.filter(user=personas.dave).values_list("company__slug", "role"))
    assert roles == {"acme": "viewer", "bravo": "admin"}
    # the console now shows the company they joined
    assert b"Acme" in client.get(reverse("accounts:home")).content


def test_a_signed_in_member_cannot_accept_an_invitation_to_their_own_company(
    client, personas, login
):
    invite(login(personas.alice), personas)
    _link, secret = last_link()
    client.force_login(personas.bob)
    response = client.post(accept_url(secret))
    assert response.status_code == 400 and b"already a member" in response.content
    assert Invitation.objects.get().accepted_at is None
    assert Membership.objects.get(user=personas.bob).role == "operator"


def test_a_deactivated_member_invited_again_comes_back_with_the_new_role(client, personas, login):
    Membership.objects.filter(user=personas.charlie).update(deactivated_at=timezone.now())
    personas.charlie.email = "charlie@acme.example"
    personas.charlie.save()
    invite(login(personas.alice), personas, email="charlie@acme.example", role="operator")
    _link, secret = last_link()
    client.force_login(personas.charlie)
    assert client.post(accept_url(secret)).status_code == 302
    membership = Membership.objects.get(user=personas.charlie)
    assert membership.deactivated_at is None and membership.role == "operator"


def test_a_mail_failure_still_shows_the_link_to_the_admin(personas, login, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    client = login(personas.alice)
    assert invite(client, personas).status_code == 302
    page = client.get(reverse("accounts:people"))
    assert b"could not be sent" in page.content
    assert b"/accounts/invitation/" in page.content


def test_only_admins_see_the_people_page_and_invite(personas, login):
    for persona in (personas.bob, personas.charlie):
        client = login(persona)
        assert client.get(reverse("accounts:people")).status_code == 404
        assert invite(client, personas).status_code == 404
    assert not Invitation.objects.exists()


def test_another_companys_admin_cannot_resend_or_revoke(personas, login):
    invite(login(personas.alice), personas)
    invitation = Invitation.objects.get()
    dave = login(personas.dave)
    for name in ("invitation_resend", "invitation_revoke"):
        url = reverse(f"accounts:{name}", kwargs={"invitation_id": invitation.pk})
        assert dave.post(url).status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None and invitation.sent_count == 1


def test_no_audit_entry_holds_the_invited_address(client, personas, login):
    admin = login(personas.alice)
    invite(admin, personas, email="canary.h1@example.org", teams=[personas.support])
    invitation = Invitation.objects.get()
    admin.post(reverse("accounts:invitation_resend", kwargs={"invitation_id": invitation.pk}))
    _link, secret = last_link()
    client.logout()
    sign_up(client, secret, username="canary")
    entries = list(audit_entries_for_company(personas.company_a.pk))
    assert {e.additional_data.get("event") for e in entries} >= {
        "invitation.sent",
        "invitation.resent",
        "invitation.accepted",
    }
    for entry in entries:
        text = f"{entry.additional_data} {entry.changes} {entry.object_repr}"
        assert "canary.h1" not in text, entry.additional_data
