"""The record of processing activities (Art. 30): live, admin-only, versioned, no visitor data."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse
from guardian.shortcuts import assign_perm

from chatbot_site.transparency import retention_periods
from consent import records
from consent.models import ProcessingRecordVersion
from tests.consent.helpers import publish_notice
from tests.conversations.console_helpers import conversation_in

pytestmark = pytest.mark.django_db

URL = "/console/record/"
CANARY_EMAIL = "canary-q7x2@example.org"
CANARY_NAME = "Canaryvisitor Qx"
CANARY_TEXT = "canary-body-8k2 please call me"


def versions(company) -> list[int]:
    return list(
        ProcessingRecordVersion.objects.filter(company=company)
        .order_by("number")
        .values_list("number", flat=True)
    )


def _policy_post(client, **overrides):
    data = {"conversation_days": 90, "personal_data_days": 30, "audit_days": 365, "run_hour": 4}
    data.update(overrides)
    return client.post(reverse("retention:policy"), data)


def test_the_url_is_named_and_in_the_admins_navigation(personas, login):
    assert reverse("consent:record") == URL
    response = login(personas.alice).get(reverse("consent:notice_list"))
    assert f'<a href="{URL}">Processing record</a>'.encode() in response.content


def test_it_shows_an_admin_the_live_record_with_the_retention_windows(personas, login):
    publish_notice(personas.company_a, title="Datenschutz")
    response = login(personas.alice).get(URL)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert "Record of processing activities" in page
    assert "Acme" in page and "EU (Germany)" in page  # the company's data_location
    # the defaults, as no policy was saved yet
    assert "deleted 180 days after their last message" in page
    assert "removed after 30 days" in page
    assert "kept for 365 days" in page
    # recipients from the transparency selector: the persona teams on inbox "Web"
    assert "Team Support:</strong> reads and answers conversations" in page
    assert "Team Quality:</strong> reads conversations" in page
    assert "Version 1, published on" in page  # the current notice
    assert "None: no external service" in page
    assert "Version 1, valid since" in page
    assert versions(personas.company_a) == [1]


def test_a_changed_policy_shows_at_once_as_version_2_and_a_reload_adds_none(personas, login):
    client = login(personas.alice)
    client.get(URL)
    client.get(URL)
    assert versions(personas.company_a) == [1]  # same configuration: same version

    # The retention page's own form and service (retention.views.policy).
    assert _policy_post(client, conversation_days=90, personal_data_days=14).status_code == 302

    page = client.get(URL).content.decode()
    assert "deleted 90 days after their last message" in page
    assert "removed after 14 days" in page
    assert "Version 2, valid since" in page
    assert "Version 1, valid from" in page  # listed among the earlier versions
    client.get(URL)
    assert versions(personas.company_a) == [1, 2]
    created = LogEntry.objects.filter(additional_data__event="processing_record.version")
    assert created.count() == 2 and {e.actor_id for e in created} == {personas.alice.pk}


def test_the_language_of_the_page_does_not_make_a_new_version(personas, login):
    client = login(personas.alice)
    client.get(URL)
    client.cookies["django_language"] = "de"
    response = client.get(URL)
    assert response.status_code == 200
    assert versions(personas.company_a) == [1]


def test_a_new_right_or_a_new_data_location_makes_a_new_version(personas, login):
    client = login(personas.alice)
    client.get(URL)
    assign_perm("conversations.view_personal_data", personas.support.group, personas.inbox_a)
    assert "sees contact details" in client.get(URL).content.decode()
    personas.company_a.data_location = "EU (Frankfurt, own servers)"
    personas.company_a.save(update_fields=["data_location"])
    assert "EU (Frankfurt, own servers)" in client.get(URL).content.decode()
    assert versions(personas.company_a) == [1, 2, 3]


def test_the_companys_2fa_switch_is_part_of_the_record(personas):
    company = personas.company_a
    before = records.record_build(company=company, retention=retention_periods(company=company))
    company.require_2fa = True
    company.save(update_fields=["require_2fa"])
    after = records.record_build(company=company, retention=retention_periods(company=company))
    assert (before.security.require_2fa, after.security.require_2fa) == (False, True)
    assert before.content_hash != after.content_hash


@pytest.mark.parametrize("persona", ["bob", "charlie"])
def test_operators_and_viewers_are_refused(personas, login, persona):
    response = login(getattr(personas, persona)).get(URL)
    # accounts.decorators.admin_required answers a missing role as "no such page"
    assert response.status_code == 404
    assert not ProcessingRecordVersion.objects.exists()


def test_another_companys_admin_sees_only_his_own_record(personas, login):
    login(personas.alice).get(URL)
    response = login(personas.dave).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Bravo" in page
    assert "Acme" not in page and "Support" not in page and "Quality" not in page
    assert versions(personas.company_a) == [1] and versions(personas.company_b) == [1]


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_record_holds_no_visitor_data(personas, login):
    conversation = conversation_in(personas.inbox_a, status="waiting", body=CANARY_TEXT)
    visitor = conversation.visitor
    visitor.email = CANARY_EMAIL
    visitor.name = CANARY_NAME
    visitor.save()
    client = login(personas.alice)
    for url in (URL, URL + "?print=1"):
        page = client.get(url).content.decode()
        for canary in (CANARY_EMAIL, CANARY_NAME, "canary-body-8k2", conversation.reference):
            assert canary not in page, (url, canary)
    # nor do the users' names: the record names teams, never people
    assert "bob" not in page and "charlie" not in page
    # and what it stores (versions, their audit entries) holds nothing of the visitor
    stored = str(list(ProcessingRecordVersion.objects.values())) + str(
        list(LogEntry.objects.filter(additional_data__event="processing_record.version").values())
    )
    assert CANARY_EMAIL not in stored and CANARY_NAME not in stored and "canary-body" not in stored


def test_the_printable_variant_renders_without_the_console_around_it(personas, login):
    client = login(personas.alice)
    page = client.get(URL).content.decode()
    assert "data-print" in page and 'href="?print=1"' in page
    assert "hafen/record.js" in page and "onclick" not in page
    response = client.get(URL + "?print=1")
    assert response.status_code == 200
    printable = response.content.decode()
    assert "Record of processing activities" in printable and "kept for 365 days" in printable
    assert 'class="topbar"' not in printable and "mainnav" not in printable
    assert "hafen/record.css" in printable and "<script>" not in printable
    assert versions(personas.company_a) == [1]  # the same record, the same version


def test_a_lost_race_for_the_next_number_is_retried(personas, monkeypatch):
    """Another request wrote number 1 between our read and our write: we take number 2."""
    ProcessingRecordVersion.objects.create(
        company=personas.company_a, number=1, content_hash="0" * 64
    )
    real = records._latest_version
    stale = iter([None])  # the first read misses the row written meanwhile
    monkeypatch.setattr(
        records, "_latest_version", lambda *, company: next(stale, None) or real(company=company)
    )
    version = records.record_version_for(company=personas.company_a, content_hash="a" * 64)
    assert version.number == 2
    assert versions(personas.company_a) == [1, 2]
    again = records.record_version_for(company=personas.company_a, content_hash="a" * 64)
    assert again.pk == version.pk


def test_the_hash_is_canonical_json_of_codes_and_values():
    content = {"b": [1, 2], "a": {"y": True, "x": None}}
    same = {"a": {"x": None, "y": True}, "b": [1, 2]}
    assert records.content_hash(content) == records.content_hash(same)
    assert len(records.content_hash(content)) == 64
    assert records.content_hash(content) != records.content_hash({**content, "b": [2, 1]})


def test_the_country_reads_as_a_name_in_the_pages_language(personas, login):
    client = login(personas.alice)
    assert "<dd>Germany</dd>" in client.get(URL).content.decode()  # Acme is in Germany
    client.post(reverse("accounts:language_switch"), {"language": "de", "next": URL})
    page = client.get(URL).content.decode()
    assert "<dd>Deutschland</dd>" in page and "<dd>DE</dd>" not in page
