"""Erasure receipts signed with a key per company; everything shown is signed (issue 12).

A receipt is {"receipt": <payload>, "signature": <hex>}: the payload names the
algorithm and the key id, and the signature is HMAC-SHA256 under the
company's derived key. Receipts from before (version 1, server-wide key,
"algorithm" beside the payload) still verify, marked legacy.
"""

import copy
import io
import json

import pytest
from django.core.management import call_command

from chatbot_site.lib.crypto import company_receipt_key, sign, sign_with_key
from retention.services.erasure import erasure_execute, erasure_request_create
from retention.services.receipts import receipt_check, receipt_kid, receipt_read, receipt_verify
from tests.conversations.chat_support import start
from tests.conversations.console_helpers import conversation_in

pytestmark = pytest.mark.django_db

VERIFY = "/console/erasure/verify/"


def issue(personas, inbox=None) -> dict:
    conversation = conversation_in(inbox or personas.inbox_a, body="hello")
    request = erasure_request_create(
        company=conversation.inbox.company, visitor=conversation.visitor, actor=None
    )
    return json.loads(json.dumps(erasure_execute(request=request, actor=None).receipt))


def legacy_receipt(personas) -> dict:
    """A receipt as issued before per-company keys (the old format, signed the old way)."""
    payload = {
        "type": "hafen.erasure-receipt",
        "version": 1,
        "request_id": 41,
        "company_id": personas.company_a.pk,
        "origin": "admin",
        "executed_by": "system",
        "executed_at": "2026-05-04T10:00:00+00:00",
        "erased": {"conversations": 1, "messages": 4},
    }
    return {"receipt": payload, "signature": sign(payload), "algorithm": "HMAC-SHA256"}


def command(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("verify_receipt", *args, stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def test_a_receipt_names_its_algorithm_key_and_company_inside_the_signed_content(personas):
    document = issue(personas)
    company = personas.company_a.pk
    assert set(document) == {"receipt", "signature"}
    payload = document["receipt"]
    assert payload["alg"] == "HMAC-SHA256" and payload["version"] == 3
    assert payload["kid"] == f"company-{company}-v1" == receipt_kid(company)
    assert payload["company_id"] == company
    assert document["signature"] == sign_with_key(company_receipt_key(company), payload)
    assert document["signature"] != sign(payload)  # not the server-wide key
    check = receipt_read(document, company_id=company)
    assert check.valid and not check.legacy and check.receipt == payload


def test_company_keys_differ_and_follow_the_configured_secret(personas, settings):
    a, b = personas.company_a.pk, personas.company_b.pk
    assert company_receipt_key(a) != company_receipt_key(b)
    before = company_receipt_key(a)
    settings.RECEIPT_SIGNING_KEY = "another-secret"
    assert company_receipt_key(a) != before


def test_a_receipt_of_company_a_is_refused_as_company_bs(personas):
    document = issue(personas)
    assert receipt_verify(document)  # genuine
    refused = receipt_read(document, company_id=personas.company_b.pk)
    assert not refused.valid and refused.reason == "other_company"
    # Relabelled for B (company and key id): B's key does not match A's signature.
    relabelled = copy.deepcopy(document)
    relabelled["receipt"].update(
        company_id=personas.company_b.pk, kid=receipt_kid(personas.company_b.pk)
    )
    assert not receipt_read(relabelled).valid
    assert receipt_read(relabelled).reason == "signature"


def test_company_bs_key_cannot_sign_a_receipt_that_claims_company_a(personas):
    document = issue(personas, inbox=personas.inbox_b)
    forged = copy.deepcopy(document)
    forged["receipt"].update(
        company_id=personas.company_a.pk, kid=receipt_kid(personas.company_a.pk)
    )
    forged["signature"] = sign_with_key(
        company_receipt_key(personas.company_b.pk), forged["receipt"]
    )
    assert receipt_verify(document) and not receipt_verify(forged)


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda d: d.update(algorithm="HMAC-SHA256"), "unsigned_fields"),
        (lambda d: d.update(note="checked by us"), "unsigned_fields"),
        (lambda d: d["receipt"].update(alg="none"), "not_receipt"),
        (lambda d: d["receipt"].update(kid="company-1-v9"), "not_receipt"),
        (lambda d: d["receipt"].pop("kid"), "not_receipt"),
        (lambda d: d["receipt"].update(version=1), "not_receipt"),
        (lambda d: d["receipt"].update(version=2), "not_receipt"),
        (lambda d: d["receipt"].pop("access_records_kept"), "not_receipt"),
        (lambda d: d["receipt"].update(access_records_kept=0), "signature"),
        (lambda d: d["receipt"].update(subject_pseudonym="erased-subject-999999"), "signature"),
        (lambda d: d["receipt"].update(company_id=True), "not_receipt"),
        (lambda d: d["receipt"]["erased"].update(messages=999), "signature"),
        (lambda d: d["receipt"].update(executed_at="2020-01-01T00:00:00+00:00"), "signature"),
        (lambda d: d.update(signature=d["signature"].upper()), "signature"),
    ],
)
def test_anything_outside_or_against_the_signed_content_is_refused(personas, tamper, reason):
    document = issue(personas)
    tamper(document)
    check = receipt_read(document)
    assert not check.valid and check.reason == reason and check.receipt is None


def test_a_duplicated_key_is_refused_before_anything_is_read(personas):
    text = json.dumps(issue(personas))
    doubled = text.replace('"erased": {', '"erased": {"messages": 999, ', 1)
    assert doubled != text
    assert receipt_check(text).valid and not receipt_check(doubled).valid


def test_a_receipt_issued_before_company_keys_verifies_as_legacy(personas):
    document = legacy_receipt(personas)
    check = receipt_read(document)
    assert check.valid and check.legacy and "legacy" in check.line
    assert not receipt_read(document, company_id=personas.company_b.pk).valid
    changed = copy.deepcopy(document)
    changed["receipt"]["erased"]["messages"] = 1
    assert not receipt_read(changed).valid
    other_algorithm = copy.deepcopy(document)
    other_algorithm["algorithm"] = "none"
    assert not receipt_read(other_algorithm).valid
    extra = copy.deepcopy(document)
    extra["note"] = "x"
    assert not receipt_read(extra).valid
    # A new-format payload signed the old way is not a receipt of either kind.
    new = issue(personas)
    new["signature"] = sign(new["receipt"])
    assert not receipt_verify(new)


def test_the_verify_page_shows_only_what_the_signature_covers(client, personas):
    document = issue(personas)
    payload = document["receipt"]
    client.force_login(personas.alice)
    response = client.post(VERIFY, {"receipt_text": json.dumps(document)})
    body = response.content.decode()
    assert response.status_code == 200 and "Valid: this receipt" in body
    fields = body[body.index('id="receipt-fields"') : body.index("</dl>")]
    for value in (payload["request_id"], payload["executed_at"], payload["kid"], payload["alg"]):
        assert str(value) in fields
    for kind, count in payload["erased"].items():
        assert f"{kind}</dt><dd>{count}</dd>" in fields
    assert "legacy" not in fields


def test_the_verify_page_refuses_another_companys_receipt(client, personas):
    document = issue(personas)  # company A's
    client.force_login(personas.dave)  # admin of company B
    body = client.post(VERIFY, {"receipt_text": json.dumps(document)}).content.decode()
    assert "issued for another company" in body
    assert "Valid: this receipt" not in body and 'id="receipt-fields"' not in body


def test_the_verify_page_marks_a_legacy_receipt(client, personas):
    client.force_login(personas.alice)
    body = client.post(
        VERIFY, {"receipt_text": json.dumps(legacy_receipt(personas))}
    ).content.decode()
    assert "Valid: this receipt" in body and "legacy key" in body
    unsigned = client.post(
        VERIFY, {"receipt_text": json.dumps({**issue(personas), "algorithm": "HMAC-SHA256"})}
    ).content.decode()
    assert "fields that the signature does not cover" in unsigned


def test_the_command_checks_the_company_key_and_an_optional_company(personas, tmp_path):
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(issue(personas)))
    code, line = command(str(path))
    assert code == 0 and line.startswith("valid: erasure request") and "legacy" not in line
    code, line = command(str(path), "--company", str(personas.company_a.pk))
    assert code == 0
    code, line = command(str(path), "--company", str(personas.company_b.pk))
    assert code == 1 and "another company" in line
    path.write_text(json.dumps(legacy_receipt(personas)))
    code, line = command(str(path))
    assert code == 0 and "legacy" in line


def test_the_api_hands_the_visitor_a_receipt_that_verifies(client, personas):
    started = start(client, "acme-web")
    token = started.json()["token"]
    erased = client.post("/api/chat/acme-web/erase", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert erased.status_code == 200
    document = erased.json()
    assert set(document) == {"receipt", "signature"}
    assert document["receipt"]["kid"] == receipt_kid(personas.company_a.pk)
    assert receipt_verify(document) and receipt_check(erased.content.decode()).valid


def test_a_version_2_receipt_issued_before_access_records_were_kept_still_verifies(personas):
    """Version 2 (per-company key, audit entries counted as erased) was handed out."""
    company = personas.company_a.pk
    payload = {
        "type": "hafen.erasure-receipt",
        "version": 2,
        "alg": "HMAC-SHA256",
        "kid": receipt_kid(company),
        "request_id": 40,
        "company_id": company,
        "origin": "admin",
        "executed_by": "system",
        "executed_at": "2026-10-04T10:00:00+00:00",
        "erased": {"conversations": 1, "messages": 4, "audit_entries": 7},
    }
    document = {
        "receipt": payload,
        "signature": sign_with_key(company_receipt_key(company), payload),
    }
    check = receipt_read(document, company_id=company)
    assert check.valid and not check.legacy
    forged = copy.deepcopy(document)
    forged["receipt"].update(access_records_kept=7, subject_pseudonym="erased-subject-40")
    assert receipt_read(forged).reason == "not_receipt"  # v2 with v3 fields
