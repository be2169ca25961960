"""Admin pages: retention policy, legal holds, erasure and access requests."""

import json
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from chatbot_site.lib.crypto import blind_index
from conversations.models import Conversation, Visitor
from retention.models import ErasureRequest, LegalHold, RetentionPolicy
from retention.services.erasure import erasure_request_create
from retention.services.holds import legal_hold_place
from tests.retention.helpers import make_conversation

pytestmark = pytest.mark.django_db


def _policy_post(client, **overrides):
    data = {"conversation_days": 90, "personal_data_days": 30, "audit_days": 365, "run_hour": 4}
    data.update(overrides)
    return client.post(reverse("retention:policy"), data)


def test_the_first_visit_creates_a_policy_with_sensible_defaults(personas, login):
    response = login(personas.alice).get(reverse("retention:policy"))
    assert response.status_code == 200
    policy = RetentionPolicy.objects.get(company=personas.company_a)
    assert (policy.conversation_days, policy.personal_data_days) == (180, 30)
    assert policy.next_run_at is not None and policy.next_run_at > timezone.now()
    assert b"Next run" in response.content


def test_personal_data_kept_longer_than_the_conversation_is_a_form_error(personas, login):
    client = login(personas.alice)
    response = _policy_post(client, conversation_days=30, personal_data_days=60)
    assert response.status_code == 400  # refused: the form again, as typed
    assert "cannot be kept longer than the conversation" in response.content.decode()
    assert RetentionPolicy.objects.get(company=personas.company_a).conversation_days == 180


@pytest.mark.parametrize(
    "field,value", [("run_hour", 24), ("audit_days", 0), ("conversation_days", "x")]
)
def test_out_of_range_values_are_form_errors(personas, login, field, value):
    response = _policy_post(login(personas.alice), **{field: value})
    assert response.status_code == 400 and b'role="alert"' in response.content


def test_saving_the_policy_is_audited_and_moves_the_next_run(personas, login):
    client = login(personas.alice)
    response = _policy_post(client, run_hour=5)
    assert response.status_code == 302
    policy = RetentionPolicy.objects.get(company=personas.company_a)
    assert (policy.conversation_days, policy.run_hour) == (90, 5)
    local = policy.next_run_at.astimezone(timezone.get_fixed_timezone(0))
    assert policy.next_run_at > timezone.now()
    assert local.minute == 0
    entry = LogEntry.objects.get_for_object(policy).filter(action=LogEntry.Action.UPDATE).first()
    assert entry.actor == personas.alice
    assert entry.additional_data["company_id"] == personas.company_a.pk


def test_the_preview_button_counts_without_saving(personas, login):
    now = timezone.now()
    make_conversation(inbox=personas.inbox_a, now=now, age_days=20)
    make_conversation(inbox=personas.inbox_a, now=now, age_days=12)
    make_conversation(inbox=personas.inbox_b, now=now, age_days=20)
    client = login(personas.alice)
    client.get(reverse("retention:policy"))
    response = client.post(
        reverse("retention:policy"),
        {
            "conversation_days": 15,
            "personal_data_days": 10,
            "audit_days": 365,
            "run_hour": 3,
            "preview": "1",
        },
    )
    text = response.content.decode()
    assert "Saving this would delete 1 conversation" in text
    assert "strip personal data from 1 more now" in text
    assert RetentionPolicy.objects.get(company=personas.company_a).conversation_days == 180
    assert Conversation.objects.count() == 3


def test_run_now_makes_the_window_due_and_enqueues_the_run(
    personas, login, monkeypatch, django_capture_on_commit_callbacks
):
    from retention import tasks

    sent = []
    monkeypatch.setattr(tasks.run_company, "delay", lambda **kw: sent.append(kw))
    client = login(personas.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("retention:run_now"))
    assert response.status_code == 302
    assert sent == [{"company_id": personas.company_a.pk}]
    policy = RetentionPolicy.objects.get(company=personas.company_a)
    assert policy.next_run_at <= timezone.now()


def test_an_admin_places_and_lifts_a_legal_hold_and_the_reason_stays_out_of_the_log(
    personas, login
):
    conv = make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=1)
    client = login(personas.alice)
    reason = "Lawsuit by Max Mustermann-Canary"
    response = client.post(
        reverse("retention:hold_place"), {"reference": conv.reference.lower(), "reason": reason}
    )
    assert response.status_code == 302
    conv.refresh_from_db()
    hold = LegalHold.objects.get(conversation=conv)
    assert conv.legal_hold and hold.reason == reason and hold.placed_by == personas.alice
    assert reason in client.get(reverse("retention:policy")).content.decode()

    client.post(reverse("retention:hold_lift", args=[hold.pk]))
    conv.refresh_from_db()
    hold.refresh_from_db()
    assert not conv.legal_hold and hold.lifted_by == personas.alice
    entries = LogEntry.objects.get_for_object(hold)
    assert entries.count() == 2  # placed, lifted
    assert "Mustermann" not in str(list(LogEntry.objects.values()))


def test_a_hold_on_an_unknown_reference_is_a_form_error(personas, login):
    response = login(personas.alice).post(
        reverse("retention:hold_place"), {"reference": "NOPE", "reason": "x"}
    )
    assert response.status_code == 400
    assert "No conversation of this company has that reference" in response.content.decode()


def test_a_hold_on_another_companys_conversation_is_refused(personas, login):
    theirs = make_conversation(inbox=personas.inbox_b, now=timezone.now(), age_days=1)
    response = login(personas.alice).post(
        reverse("retention:hold_place"), {"reference": theirs.reference, "reason": "x"}
    )
    assert response.status_code == 400 and not LegalHold.objects.exists()


def test_one_active_hold_of_two_keeps_the_conversation_held(personas):
    conv = make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=1)
    from retention.services.holds import legal_hold_lift

    first = legal_hold_place(conversation=conv, reason="a", actor=personas.alice)
    legal_hold_place(conversation=conv, reason="b", actor=personas.alice)
    legal_hold_lift(hold=first, actor=personas.alice)
    conv.refresh_from_db()
    assert conv.legal_hold


# --------------------------------------------------------------------------- #
# Tenancy and roles
# --------------------------------------------------------------------------- #


def _pages_of_company_a(personas):
    conv = make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=1)
    hold = legal_hold_place(conversation=conv, reason="r", actor=personas.alice)
    other = make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=1)
    erasure = erasure_request_create(
        company=personas.company_a, visitor=other.visitor, actor=personas.alice
    )
    return {
        "get": [
            reverse("retention:erasure_start", args=[conv.pk]),
            reverse("retention:erasure_detail", args=[erasure.pk]),
            reverse("retention:erasure_receipt", args=[erasure.pk]),
            reverse("retention:visitor_export", args=[conv.visitor_id]),
        ],
        "post": [
            (reverse("retention:hold_lift", args=[hold.pk]), {}),
            (reverse("retention:erasure_confirm", args=[erasure.pk]), {"confirm": "yes"}),
            (reverse("retention:erasure_create"), {"visitor": conv.visitor_id}),
            (reverse("retention:erasure_start", args=[conv.pk]), {}),
        ],
    }


def test_company_bs_admin_gets_404_for_every_object_of_company_a(personas, login):
    pages = _pages_of_company_a(personas)
    client = login(personas.dave)
    for url in pages["get"]:
        assert client.get(url).status_code == 404, url
    for url, data in pages["post"]:
        assert client.post(url, data).status_code == 404, url
    assert LegalHold.objects.filter(lifted_at__isnull=True).count() == 1
    assert ErasureRequest.objects.filter(company=personas.company_b).count() == 0
    assert Visitor.objects.filter(company=personas.company_a).count() == 2


def test_viewers_and_operators_without_the_erase_right_get_404(personas, login):
    pages = _pages_of_company_a(personas)
    for user in (personas.charlie, personas.bob):
        client = login(user)
        for name in ("retention:policy", "retention:erasure_list"):
            assert client.get(reverse(name)).status_code == 404
        for url in pages["get"]:
            assert client.get(url).status_code == 404, (user, url)
        for url, data in pages["post"]:
            assert client.post(url, data).status_code == 404, (user, url)


def test_an_anonymous_user_is_sent_to_the_login_page(client, personas):
    response = client.get(reverse("retention:policy"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_operator_with_the_erase_right_erases_from_the_console(personas, login):
    assign_perm("conversations.erase_conversations", personas.support.group, personas.inbox_a)
    conv = make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=1)
    client = login(personas.bob)
    assert client.get(reverse("retention:erasure_start", args=[conv.pk])).status_code == 200
    response = client.post(reverse("retention:erasure_start", args=[conv.pk]))
    erasure = ErasureRequest.objects.get()
    assert response["Location"] == reverse("retention:erasure_detail", args=[erasure.pk])
    client.post(reverse("retention:erasure_confirm", args=[erasure.pk]), {"confirm": "yes"})
    erasure.refresh_from_db()
    assert erasure.status == "done" and erasure.receipt["receipt"]["executed_by"] == personas.bob.pk
    assert not Conversation.objects.filter(pk=conv.pk).exists()
    # but not on an inbox without the right
    shop = make_conversation(inbox=personas.inbox_a2, now=timezone.now(), age_days=1)
    assert client.get(reverse("retention:erasure_start", args=[shop.pk])).status_code == 404


# --------------------------------------------------------------------------- #
# Erasure and access pages
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("kind", ["reference", "email", "token"])
def test_an_admin_finds_the_data_subject_by_reference_email_or_token(personas, login, kind):
    conv = make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=1)
    from chatbot_site.lib.crypto import hash_token

    Visitor.objects.filter(pk=conv.visitor_id).update(
        email="Subject@Example.com",
        email_index=blind_index("subject@example.com"),
        token_hash=hash_token("tok-123"),
    )
    value = {"reference": conv.reference, "email": " subject@example.COM", "token": "tok-123"}[kind]
    response = login(personas.alice).post(
        reverse("retention:erasure_list"), {"kind": kind, "value": value}
    )
    text = response.content.decode()
    assert f"#{conv.visitor_id}" in text and conv.reference in text
    assert "Prepare erasure" in text


def test_the_search_never_finds_another_companys_visitor(personas, login):
    theirs = make_conversation(inbox=personas.inbox_b, now=timezone.now(), age_days=1)
    response = login(personas.alice).post(
        reverse("retention:erasure_list"), {"kind": "reference", "value": theirs.reference}
    )
    assert "No visitor of this company matches" in response.content.decode()


def test_the_erasure_flow_previews_confirms_and_serves_a_verifiable_receipt(personas, login):
    conv = make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=1, messages=3)
    client = login(personas.alice)
    response = client.post(reverse("retention:erasure_create"), {"visitor": conv.visitor_id})
    erasure = ErasureRequest.objects.get()
    detail = client.get(response["Location"]).content.decode()
    assert "What will be erased" in detail and conv.reference in detail

    unconfirmed = client.post(reverse("retention:erasure_confirm", args=[erasure.pk]))
    assert unconfirmed.status_code == 302 and Conversation.objects.filter(pk=conv.pk).exists()

    client.post(reverse("retention:erasure_confirm", args=[erasure.pk]), {"confirm": "yes"})
    assert not Conversation.objects.filter(pk=conv.pk).exists()
    receipt = client.get(reverse("retention:erasure_receipt", args=[erasure.pk]))
    assert "attachment" in receipt["Content-Disposition"]
    document = json.loads(receipt.content)
    assert document["receipt"]["erased"]["messages"] == 3

    valid = client.post(
        reverse("retention:receipt_verify"), {"receipt_text": receipt.content.decode()}
    )
    assert "Valid: this receipt" in valid.content.decode()
    document["receipt"]["erased"]["messages"] = 2
    invalid = client.post(
        reverse("retention:receipt_verify"), {"receipt_text": json.dumps(document)}
    )
    assert "Invalid: the signature" in invalid.content.decode()
    garbage = client.post(reverse("retention:receipt_verify"), {"receipt_text": "{not json"})
    assert garbage.status_code == 400 and "This is not JSON" in garbage.content.decode()
    # A duplicated key before the signed one: a lenient reader would show 999.
    signed = receipt.content.decode()
    doubled = signed.replace('"erased": {', '"erased": {"messages": 999, ', 1)
    assert doubled != signed and json.loads(doubled)["receipt"]["erased"]["messages"] == 3
    refused = client.post(reverse("retention:receipt_verify"), {"receipt_text": doubled})
    assert refused.status_code == 400 and "A key appears twice" in refused.content.decode()
    assert "Valid: this receipt" not in refused.content.decode()


def test_erasing_a_held_visitor_is_refused_with_a_message(personas, login):
    conv = make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=1)
    legal_hold_place(conversation=conv, reason="r", actor=personas.alice)
    erasure = erasure_request_create(company=personas.company_a, visitor=conv.visitor, actor=None)
    client = login(personas.alice)
    response = client.post(
        reverse("retention:erasure_confirm", args=[erasure.pk]), {"confirm": "yes"}, follow=True
    )
    assert "under legal hold" in response.content.decode()
    assert Conversation.objects.filter(pk=conv.pk).exists()


def test_the_export_page_shows_the_subjects_data_and_is_audited(personas, login):
    conv = make_conversation(
        inbox=personas.inbox_a, now=timezone.now(), age_days=1, bodies=("Hello, I am Canary",)
    )
    client = login(personas.alice)
    page = client.get(reverse("retention:visitor_export", args=[conv.visitor_id]))
    assert "Hello, I am Canary" in page.content.decode() and conv.reference in page.content.decode()
    download = client.get(
        reverse("retention:visitor_export", args=[conv.visitor_id]) + "?format=json"
    )
    assert json.loads(download.content)["conversations"][0]["reference"] == conv.reference
    exports = LogEntry.objects.filter(additional_data__event="visitor.export")
    assert exports.count() == 2
    assert "Canary" not in str(list(exports.values()))
    assert timedelta(0) <= timezone.now() - exports.first().timestamp
