"""Erasure: the subject's data is gone from every table, the receipt verifies, nothing leaks."""

import json

import pytest
from auditlog.models import LogEntry
from django.utils import timezone

from chatbot_site.lib.audit import audit_access
from chatbot_site.lib.crypto import blind_index
from consent.models import ConsentRecord
from conversations.models import Conversation, Message, Visitor
from retention.models import ErasureRequest
from retention.services.erasure import (
    ErasureError,
    erasure_execute,
    erasure_request_create,
    erasure_self_service,
    receipt_verify,
)
from retention.services.export import visitor_export
from retention.services.holds import legal_hold_lift, legal_hold_place
from tests.canary import decrypted_and_raw_text
from tests.retention.helpers import make_conversation

pytestmark = pytest.mark.django_db

CANARY_EMAIL = "canary-4471@example.org"
CANARY_NAME = "Canary Vogelsang"
CANARY_PHONE = "+49 30 44714471"


@pytest.fixture(autouse=True)
def _ledger_file(settings, tmp_path):
    """Each erasure appends to the ledger file: keep it out of var/."""
    settings.HAFEN_ERASURE_LEDGER_PATH = str(tmp_path / "erasure-ledger.jsonl")


@pytest.fixture
def subject(personas):
    now = timezone.now()
    conv = make_conversation(
        inbox=personas.inbox_a,
        now=now,
        age_days=2,
        bodies=(f"I am {CANARY_NAME}, mail {CANARY_EMAIL}", f"call {CANARY_PHONE}"),
        messages=3,
    )
    visitor = Visitor.objects.get(pk=conv.visitor_id)
    visitor.name, visitor.email, visitor.phone = CANARY_NAME, CANARY_EMAIL, CANARY_PHONE
    visitor.email_index = blind_index(CANARY_EMAIL)
    visitor.save()  # an auditlog update entry about the visitor
    second = make_conversation(inbox=personas.inbox_a, now=now, age_days=1, visitor=visitor)
    ConsentRecord.objects.create(
        company=personas.company_a,
        visitor=visitor,
        purpose=ConsentRecord.Purpose.CONTACT,
        action=ConsentRecord.Action.GRANTED,
        purpose_text=f"Call back {CANARY_NAME}",
    )
    audit_access(
        company_id=personas.company_a.pk, actor=personas.bob, obj=conv, event="conversation.open"
    )
    hold = legal_hold_place(conversation=second, reason=f"hold for {CANARY_NAME}", actor=None)
    legal_hold_lift(hold=hold, actor=personas.alice)
    Conversation.objects.filter(pk=conv.pk).update(status="closed")
    return visitor, [conv, second]


@pytest.fixture
def bystander(personas):
    conv = make_conversation(
        inbox=personas.inbox_a, now=timezone.now(), age_days=1, bodies=("bystander text",)
    )
    Visitor.objects.filter(pk=conv.visitor_id).update(name="Bystander Person")
    return conv


def test_after_erasure_the_subject_is_gone_from_every_table_including_the_audit_log(
    personas, subject, bystander
):
    visitor, conversations = subject
    references = [c.reference for c in conversations]
    message_ids = list(
        Message.objects.filter(conversation__in=conversations).values_list("id", flat=True)
    )
    before = decrypted_and_raw_text()
    assert CANARY_NAME in before and references[0] in before  # the scan sees them

    request = erasure_request_create(
        company=personas.company_a, visitor=visitor, actor=personas.alice
    )
    done = erasure_execute(request=request, actor=personas.alice)

    after = decrypted_and_raw_text()
    for needle in (CANARY_NAME, CANARY_EMAIL, CANARY_PHONE, "44714471", *references):
        assert needle not in after, needle
    assert not Visitor.objects.filter(pk=visitor.pk).exists()
    assert not Message.objects.filter(pk__in=message_ids).exists()
    assert not ConsentRecord.objects.filter(visitor_id=visitor.pk).exists()
    for model, ids in (
        (Visitor, [visitor.pk]),
        (Conversation, [c.pk for c in conversations]),
        (Message, message_ids),
    ):  # the entries about them are kept (pseudonymised) but point at nothing
        assert not LogEntry.objects.filter(
            content_type__model=model._meta.model_name, object_id__in=ids
        ).exists()
    kept = LogEntry.objects.filter(object_pk=f"erased-subject-{done.pk}")
    assert kept.count() == done.receipt["receipt"]["access_records_kept"] >= 5
    # the bystander is untouched
    assert Message.objects.filter(conversation=bystander).first().body == "bystander text"
    assert Visitor.objects.get(pk=bystander.visitor_id).name == "Bystander Person"
    # one audit entry, counts only
    entry = LogEntry.objects.get(additional_data__event="erasure.execute")
    assert entry.actor == personas.alice
    assert entry.additional_data["erased_messages"] == 5
    assert done.visitor_id is None and done.status == ErasureRequest.Status.DONE


def test_the_receipt_counts_what_was_erased_and_verifies(personas, subject):
    visitor, _ = subject
    request = erasure_request_create(company=personas.company_a, visitor=visitor, actor=None)
    done = erasure_execute(request=request, actor=personas.alice)

    receipt = done.receipt
    erased = receipt["receipt"]["erased"]
    assert erased["conversations"] == 2 and erased["messages"] == 5
    assert erased["contact_details"] == 3 and erased["consent_records"] == 1
    assert erased["legal_holds"] == 1 and erased["visitors"] == 1
    assert "audit_entries" not in erased  # kept, not erased:
    assert receipt["receipt"]["access_records_kept"] >= 5
    assert receipt["receipt"]["subject_pseudonym"] == f"erased-subject-{done.pk}"
    assert receipt["receipt"]["executed_by"] == personas.alice.pk
    assert receipt["receipt"]["request_id"] == done.pk
    assert receipt["receipt"]["company_id"] == personas.company_a.pk
    assert receipt_verify(json.loads(json.dumps(receipt)))
    for needle in (CANARY_NAME, CANARY_EMAIL, "alice"):
        assert needle not in json.dumps(receipt)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["receipt"]["erased"].update(messages=1),
        lambda d: d["receipt"].update(company_id=999),
        lambda d: d["receipt"].update(extra="x"),
        lambda d: d.update(signature="0" * 64),
        lambda d: d.pop("signature"),
        lambda d: d.update(receipt="not a dict"),
    ],
)
def test_a_tampered_receipt_does_not_verify(personas, subject, tamper):
    visitor, _ = subject
    request = erasure_request_create(company=personas.company_a, visitor=visitor, actor=None)
    document = json.loads(json.dumps(erasure_execute(request=request, actor=None).receipt))
    tamper(document)
    assert not receipt_verify(document)


def test_a_receipt_signed_with_another_key_does_not_verify(personas, subject, settings):
    visitor, _ = subject
    request = erasure_request_create(company=personas.company_a, visitor=visitor, actor=None)
    receipt = erasure_execute(request=request, actor=None).receipt
    settings.RECEIPT_SIGNING_KEY = "another-key"
    assert not receipt_verify(receipt)


def test_a_held_conversation_blocks_the_erasure_and_nothing_is_written(personas, subject):
    visitor, conversations = subject
    legal_hold_place(conversation=conversations[0], reason="court", actor=None)
    request = erasure_request_create(company=personas.company_a, visitor=visitor, actor=None)
    with pytest.raises(ErasureError) as err:
        erasure_execute(request=request, actor=None)
    assert err.value.code == "legal_hold"
    assert Message.objects.filter(conversation__visitor=visitor).count() == 5
    request.refresh_from_db()
    assert request.status == ErasureRequest.Status.PENDING


def test_executing_twice_returns_the_same_receipt(personas, subject):
    visitor, _ = subject
    request = erasure_request_create(company=personas.company_a, visitor=visitor, actor=None)
    first = erasure_execute(request=request, actor=None)
    second = erasure_execute(request=request, actor=None)
    assert first.receipt == second.receipt


def test_a_visitor_erases_themselves_with_the_same_service(personas, subject):
    visitor, _ = subject
    done = erasure_self_service(visitor=visitor)
    assert done.origin == ErasureRequest.Origin.VISITOR
    assert done.receipt["receipt"]["executed_by"] == "visitor"
    assert receipt_verify(done.receipt)
    assert not Visitor.objects.filter(pk=visitor.pk).exists()


def test_a_later_export_audit_entry_is_kept_pseudonymised(personas, subject):
    visitor, _ = subject
    visitor_export(visitor=visitor, actor=personas.alice)
    done = erasure_self_service(visitor=visitor)
    entry = LogEntry.objects.get(additional_data__event="visitor.export")
    assert entry.actor == personas.alice and entry.object_id is None
    assert entry.object_repr == entry.object_pk == f"erased-subject-{done.pk}"
    assert entry.additional_data["subject"] == f"erased-subject-{done.pk}"


def test_a_second_pending_request_for_the_same_visitor_is_left_without_a_subject(personas, subject):
    visitor, _ = subject
    first = erasure_request_create(company=personas.company_a, visitor=visitor, actor=None)
    second = erasure_request_create(company=personas.company_a, visitor=visitor, actor=None)
    erasure_execute(request=first, actor=None)
    second.refresh_from_db()
    assert second.visitor_id is None
    with pytest.raises(ErasureError) as err:
        erasure_execute(request=second, actor=None)
    assert err.value.code == "gone"


def test_the_erasure_services_check_the_staff_members_erase_right_themselves(personas):
    """Bob's team may see and reply on the inbox, not erase: both services refuse him
    before writing anything; with no membership (visitor, restore, command) they run."""
    from accounts.models import Membership
    from chatbot_site.lib.errors import NotAllowed

    conversation = make_conversation(inbox=personas.inbox_a, now=timezone.now(), age_days=1)
    bob = Membership.objects.get(user=personas.bob, company=personas.company_a)

    with pytest.raises(NotAllowed):
        erasure_request_create(
            company=personas.company_a,
            visitor=conversation.visitor,
            actor=personas.bob,
            membership=bob,
        )
    assert not ErasureRequest.objects.exists()

    request = erasure_request_create(
        company=personas.company_a, visitor=conversation.visitor, actor=personas.alice
    )
    with pytest.raises(NotAllowed):
        erasure_execute(request=request, actor=personas.bob, membership=bob)
    assert Conversation.objects.filter(pk=conversation.pk).exists()
