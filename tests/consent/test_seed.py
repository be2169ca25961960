import pytest
from django.core.management import call_command

from consent.models import PrivacyNotice
from conversations.models import Inbox

pytestmark = pytest.mark.django_db


def test_the_demo_seed_publishes_one_german_notice_and_leaves_the_switch_off():
    for _ in range(2):
        call_command("seed_demo", stdout=open("/dev/null", "w"))
    notice = PrivacyNotice.objects.get(company__slug="demo")
    assert notice.version == 1 and notice.is_published
    assert "Einwilligung" in notice.text
    assert Inbox.objects.get(public_key="demo-website").notice_required is False
