"""The demo seed (`make run` calls it): written through the services, idempotent."""

import pytest
from auditlog.models import LogEntry
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command

from accounts.models import Company, Membership, Team
from chatbot_site.management.commands.seed_demo import DEMO_PASSWORD, USERS
from consent.models import PrivacyNotice
from conversations.models import FaqEntry, Inbox
from conversations.rights import REPLY, VIEW, team_grants
from conversations.services.rights import rights_set

pytestmark = pytest.mark.django_db


def seed() -> None:
    call_command("seed_demo", stdout=open("/dev/null", "w"))


def row_counts() -> dict[str, int]:
    """Rows of every model of the project's apps, auth and the audit log."""
    labels = ("accounts", "conversations", "consent", "retention", "auth", "guardian", "auditlog")
    return {
        model._meta.label: model._default_manager.count()
        for label in labels
        for model in apps.get_app_config(label).get_models()
    }


def test_the_demo_seed_publishes_one_german_notice_and_leaves_the_switch_off():
    for _ in range(2):
        call_command("seed_demo", stdout=open("/dev/null", "w"))
    notice = PrivacyNotice.objects.get(company__slug="demo")
    assert notice.version == 1 and notice.is_published
    assert "Einwilligung" in notice.text
    assert Inbox.objects.get(public_key="demo-website").notice_required is False


def test_a_second_run_changes_nothing():
    seed()
    before = row_counts()
    seed()
    assert row_counts() == before
    assert before["accounts.Company"] == 2 and before["conversations.FaqEntry"] == 12


def test_the_printed_logins_work_with_their_roles():
    seed()
    for username, slug, role in USERS:
        user = authenticate(username=username, password=DEMO_PASSWORD)
        assert user is not None, username
        assert Membership.objects.get(user=user).company.slug == slug
        assert Membership.objects.get(user=user).role == role


def test_teams_members_and_rights_come_through_the_services_and_are_audited():
    seed()
    demo = Company.objects.get(slug="demo")
    inbox = Inbox.objects.get(public_key="demo-website")
    support = Team.objects.get(company=demo, name="Support")
    quality = Team.objects.get(company=demo, name="Quality")
    assert list(support.group.user_set.values_list("username", flat=True)) == ["demo-operator"]
    assert list(quality.group.user_set.values_list("username", flat=True)) == ["demo-viewer"]
    assert team_grants(company=demo) == {
        (support.pk, inbox.pk, VIEW),
        (support.pk, inbox.pk, REPLY),
        (quality.pk, inbox.pk, VIEW),
    }
    events = list(
        LogEntry.objects.filter(additional_data__company_id=demo.pk).values_list(
            "additional_data__event", flat=True
        )
    )
    assert events.count("rights.grant") == 3
    assert events.count("team.member_add") == 2
    assert events.count("notice.publish") == 1
    # auditlog's own entries (companies, inboxes, FAQ, teams) land on a company's page
    assert not LogEntry.objects.filter(additional_data__company_id__isnull=True).exists()
    faq_types = LogEntry.objects.filter(content_type__model="faqentry")
    assert faq_types.filter(additional_data__company_id=demo.pk).count() == 12
    assert FaqEntry.objects.filter(company=demo, asks_for_contact=True).count() == 2


def test_a_second_run_keeps_what_an_admin_changed():
    seed()
    demo = Company.objects.get(slug="demo")
    inbox = Inbox.objects.get(public_key="demo-website")
    support = Team.objects.get(company=demo, name="Support")
    rights_set(company=demo, grants={(support.pk, inbox.pk, VIEW)}, actor=None)
    Membership.objects.filter(user__username="demo-viewer").update(role=Membership.Role.OPERATOR)
    seed()
    assert team_grants(company=demo) == {(support.pk, inbox.pk, VIEW)}
    role = Membership.objects.get(user__username="demo-viewer").role
    assert role == Membership.Role.OPERATOR
