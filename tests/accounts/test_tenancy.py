import pytest
from django.http import Http404
from django.urls import reverse

from accounts.middleware import SESSION_KEY
from chatbot_site.lib.tenancy import get_for_company_or_404
from conversations.models import Inbox

pytestmark = pytest.mark.django_db


def test_the_console_home_shows_the_users_company(personas, login):
    client = login(personas.alice)
    response = client.get(reverse("accounts:home"))
    assert response.status_code == 200
    assert b"Acme" in response.content
    assert b"Bravo" not in response.content


def test_anonymous_users_are_sent_to_the_login_page(client, personas):
    response = client.get(reverse("accounts:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_a_user_without_membership_gets_404(client, django_user_model, personas):
    user = django_user_model.objects.create_user(username="nobody", password="x")
    client.force_login(user)
    assert client.get(reverse("accounts:home")).status_code == 404


def test_company_b_admin_cannot_switch_into_company_a(personas, login):
    client = login(personas.dave)
    client.post(reverse("accounts:switch_company"), {"company": personas.company_a.pk})
    assert client.session.get(SESSION_KEY) is None
    response = client.get(reverse("accounts:home"))
    assert b"Bravo" in response.content and b"Acme" not in response.content


def test_a_stale_session_company_falls_back_to_a_real_membership(personas, login):
    client = login(personas.dave)
    session = client.session
    session[SESSION_KEY] = personas.company_a.pk
    session.save()
    response = client.get(reverse("accounts:home"))
    assert b"Bravo" in response.content and b"Acme" not in response.content


def test_a_user_with_two_memberships_switches_company(personas, login):
    from accounts.services import membership_set

    membership_set(user=personas.alice, company=personas.company_b, role="viewer")
    client = login(personas.alice)
    assert b"company-switch" in client.get(reverse("accounts:home")).content
    client.post(reverse("accounts:switch_company"), {"company": personas.company_b.pk})
    response = client.get(reverse("accounts:home"))
    assert b"<h1>Bravo</h1>" in response.content


def test_objects_of_another_company_are_a_404(personas):
    queryset = Inbox.objects.all()
    found = get_for_company_or_404(
        queryset, company_id=personas.company_a.pk, pk=personas.inbox_a.pk
    )
    assert found == personas.inbox_a
    with pytest.raises(Http404):
        get_for_company_or_404(queryset, company_id=personas.company_b.pk, pk=personas.inbox_a.pk)
    with pytest.raises(Http404):
        get_for_company_or_404(queryset, company_id=personas.company_a.pk, pk="not-a-number")
