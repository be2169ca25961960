"""The published OpenAPI document is a contract: real responses validate against it.

Every endpoint of /api/ is driven through the Django test client, through its
success and its error paths, and each response body is validated (OpenAPI 3.1
dialect, $refs resolved against the document's components, formats checked)
against the schema the document declares for that path, method and status.
A status the document does not declare for the operation fails the test.

The document itself is validated with openapi-spec-validator, and the request
constraints it states (text, client_key, contact fields) are checked against
what the server really accepts and refuses.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.db.backends.utils import CursorWrapper
from django.db.utils import OperationalError
from django.test import Client
from django.utils import timezone
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from chatbot_site.lib.audit import audit_access
from consent.models import PrivacyNotice
from conversations.models import Conversation, FaqEntry, Visitor
from conversations.services import chat as chat_services
from conversations.services.chat import ChatError, chat_text_clean
from retention.services.erasure import erasure_execute, erasure_request_create

pytestmark = pytest.mark.django_db

KEY = "acme-web"
PREFIX = "/api/chat/{public_key}"

# (method, path template under /api/chat/{public_key}): every operation of the document.
CONFIG = ("get", "/config")
START = ("post", "/conversations")
POST_MESSAGE = ("post", "/messages")
LIST_MESSAGES = ("get", "/messages")
HANDOVER = ("post", "/handover")
NOTICE = ("get", "/notice")
ACCEPT = ("post", "/notice/accept")
DECLINE = ("post", "/notice/decline")
CONTACT = ("post", "/contact")
WITHDRAW = ("post", "/contact/withdraw")
CONSENTS = ("get", "/consents")
ERASE = ("post", "/erase")
EXPORT = ("get", "/export")
LANGUAGE = ("post", "/language")
OPERATIONS = (
    CONFIG,
    START,
    POST_MESSAGE,
    LIST_MESSAGES,
    HANDOVER,
    NOTICE,
    ACCEPT,
    DECLINE,
    CONTACT,
    WITHDRAW,
    CONSENTS,
    ERASE,
    EXPORT,
    LANGUAGE,
)
PUBLIC = {CONFIG, START, NOTICE, ACCEPT, DECLINE}  # no visitor token needed
WITH_TOKEN = [op for op in OPERATIONS if op not in PUBLIC]


@pytest.fixture(scope="module")
def spec() -> dict:
    """The document as published (no database involved)."""
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


class Contract:
    """Sends requests and validates every answer against the document."""

    def __init__(self, client, spec: dict):
        self.client = client
        self.spec = spec
        self.seen: set[tuple[str, str, int]] = set()

    def call(self, op: tuple[str, str], key: str = KEY, token: str | None = None, **kwargs):
        method, path = op
        url = f"/api/chat/{key}{path}"
        if token:
            kwargs["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        if method == "post":
            kwargs.setdefault("content_type", "application/json")
            response = self.client.post(url, **kwargs)
        else:
            response = self.client.get(url, kwargs.pop("query", None), **kwargs)
        self.check(op, response)
        return response

    def check(self, op: tuple[str, str], response) -> None:
        method, path = op
        operation = self.spec["paths"][f"/api/chat/{{public_key}}{path}"][method]
        status = response.status_code
        declared = operation["responses"]
        assert str(status) in declared, (
            f"{method.upper()} {path} answered {status}, the document declares "
            f"{sorted(declared)}: {response.content[:300]!r}"
        )
        assert response["Content-Type"].startswith("application/json")
        schema = declared[str(status)]["content"]["application/json"]["schema"]
        validator = OAS31Validator(
            {**schema, "components": self.spec["components"]},
            format_checker=OAS31Validator.FORMAT_CHECKER,
        )
        errors = [
            f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in validator.iter_errors(response.json())
        ]
        assert not errors, f"{method.upper()} {path} {status} violates its schema: {errors}"
        self.seen.add((method, path, status))


@pytest.fixture
def api(client, spec) -> Contract:
    return Contract(client, spec)


def publish_notice(company, version: int = 1) -> PrivacyNotice:
    return PrivacyNotice.objects.create(
        company=company,
        version=version,
        title="Privacy",
        text="We store your messages encrypted.",
        published_at=timezone.now(),
    )


def require_notice(personas, version: int = 1) -> PrivacyNotice:
    personas.inbox_a.notice_required = True
    personas.inbox_a.save(update_fields=["notice_required"])
    return publish_notice(personas.company_a, version)


def new_token(api: Contract) -> str:
    """A visitor with an open conversation."""
    response = api.call(START)
    assert response.status_code == 201
    return response.json()["token"]


CONTACT_BODY = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "purpose": "Call me back about my order.",
    "opt_in": True,
}
# Valid bodies, so that a refusal is about what the test is about.
BODIES = {
    POST_MESSAGE: {"data": {"text": "hello"}},
    ACCEPT: {"data": {"version": 1}},
    CONTACT: {"data": CONTACT_BODY},
    LANGUAGE: {"data": {"language": "de"}},
}


TEXT_SAMPLES = [
    "a",
    " a\n",
    "a" * 4000,
    "  " + "a" * 4000 + "\n\t",
    "a" * 4001,
    "",
    " \n\t ",
    "a\x00b",
    "a\x1bb",
    "a\x7fb",
    "line\nline\ttab\rcr",
    "\x85a\x85",
    "a\x85b",
    "a\ud800b",
    "Grüße 👋",
]


# --- the document ---------------------------------------------------------


def test_the_document_is_valid_openapi_with_unique_schema_names(spec):
    validate_spec(spec)
    assert spec["openapi"].startswith("3.1")
    documented = {
        (method, path.removeprefix("/api/chat/{public_key}"))
        for path, operations in spec["paths"].items()
        for method in operations
    }
    assert documented == set(OPERATIONS), "a new endpoint needs its contract test here"
    schemas = spec["components"]["schemas"]
    # One name, one shape: the chat's messages and the consent API's answers differ.
    assert {"sender", "body", "created_at"} <= set(schemas["MessageOut"]["properties"])
    assert set(schemas["ConsentInfoOut"]["properties"]) == {"message"}
    assert "published_at" in schemas["ConsentNoticeOut"]["properties"]
    assert "published_at" not in schemas["ChatNoticeOut"]["properties"]


def test_every_operation_declares_its_faults_and_its_errors(spec):
    for method, path in OPERATIONS:
        responses = spec["paths"][f"{PREFIX}{path}"][method]["responses"]
        assert {"404", "413", "429", "503"} <= set(responses), (method, path)
        for status, response in responses.items():
            assert "application/json" in response["content"], (method, path, status)
        if (method, path) in WITH_TOKEN:
            assert "401" in responses, (method, path)
    ops = spec["paths"]
    assert ops[f"{PREFIX}/erase"]["post"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/ErasureReceiptOut"}
    assert ops[f"{PREFIX}/export"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/VisitorExportOut"}


def test_the_document_states_the_constraints_the_server_enforces(spec):
    schemas = spec["components"]["schemas"]
    text = schemas["MessageIn"]["properties"]["text"]
    pattern = re.compile(text["pattern"])
    assert text["minLength"] == 1
    key = schemas["MessageIn"]["properties"]["client_key"]
    assert "^[A-Za-z0-9_-]{8,64}$" in str(key)
    contact = schemas["ContactIn"]["properties"]
    assert contact["name"]["maxLength"] == 200
    assert contact["email"]["maxLength"] == 254
    assert contact["phone"]["maxLength"] == 40
    assert contact["purpose"]["maxLength"] == 300
    assert contact["opt_in"]["const"] is True
    after = spec["paths"][f"{PREFIX}/messages"]["get"]["parameters"]
    assert [p["schema"].get("minimum") for p in after if p["name"] == "after"] == [0]
    assert set(schemas["RecordOut"]["properties"]) >= {"purpose", "action"}
    # The text pattern says what chat_text_clean says, on both sides of each limit.
    for sample in TEXT_SAMPLES:
        try:
            chat_text_clean(sample)
            accepted = True
        except ChatError:
            accepted = False
        assert bool(pattern.search(sample)) is accepted, repr(sample[:12])


# --- success paths --------------------------------------------------------


def request_validator(spec: dict, name: str) -> OAS31Validator:
    return OAS31Validator(
        {"$ref": f"#/components/schemas/{name}", "components": spec["components"]},
        format_checker=OAS31Validator.FORMAT_CHECKER,
    )


def test_the_message_schema_accepts_what_the_server_accepts(api, personas):
    token = new_token(api)
    validator = request_validator(api.spec, "MessageIn")
    for text in TEXT_SAMPLES:
        response = api.call(POST_MESSAGE, token=token, data={"text": text})
        assert response.status_code in (200, 400), repr(text[:12])
        assert validator.is_valid({"text": text}) is (response.status_code == 200), repr(text[:12])


LONG_DOMAIN = ".".join(["b" * 61] * 4) + ".de"


def test_the_contact_schema_accepts_what_the_server_accepts(api, personas):
    token = new_token(api)
    validator = request_validator(api.spec, "ContactIn")
    bodies = [
        CONTACT_BODY,
        {"phone": "+49 30 1234567", "purpose": "p", "opt_in": True},
        {"email": " ada@example.com ", "phone": "", "purpose": " call me ", "opt_in": True},
        {**CONTACT_BODY, "name": "n" * 200, "purpose": "p" * 300},
        {**CONTACT_BODY, "email": "abc@" + LONG_DOMAIN},  # 254 characters
        {"purpose": "p", "opt_in": True},
        {"email": "  ", "phone": " ", "purpose": "p", "opt_in": True},
        {"email": "ada@example.com", "opt_in": True},
        {"email": "ada@example.com", "purpose": "   ", "opt_in": True},
        {"email": "ada@example.com", "purpose": "p"},
        {**CONTACT_BODY, "opt_in": "true"},
        {**CONTACT_BODY, "opt_in": 1},
        {**CONTACT_BODY, "name": "n" * 201},
        {**CONTACT_BODY, "purpose": "p" * 301},
        {**CONTACT_BODY, "email": "abcd@" + LONG_DOMAIN},
        {**CONTACT_BODY, "phone": "+49 30 1234567" + " 1" * 14},
    ]
    for body in bodies:
        response = api.call(CONTACT, token=token, data=body)
        assert response.status_code in (201, 400), body
        assert validator.is_valid(body) is (response.status_code == 201), (body, response.json())


def test_every_operation_answers_its_success_as_documented(api, personas):
    FaqEntry.objects.create(
        company=personas.company_a,
        inbox=personas.inbox_a,
        questions="What are your opening hours?",
        answer="Monday to Friday, 9 to 6.",
    )
    assert api.call(CONFIG).status_code == 200  # no notice
    require_notice(personas)
    assert api.call(CONFIG).json()["notice"]["version"] == 1  # one of the five violations
    assert api.call(NOTICE).status_code == 200
    assert api.call(DECLINE).status_code == 200
    accepted = api.call(ACCEPT, data={"version": 1})
    assert accepted.status_code == 201
    token = accepted.json()["token"]
    assert api.call(ACCEPT, token=token, data={"version": 1}).status_code == 200
    assert api.call(START, token=token).status_code == 201  # the first conversation
    assert api.call(START, token=token).status_code == 200  # resumed
    posted = api.call(
        POST_MESSAGE,
        token=token,
        data={"text": "What are your opening hours?", "client_key": uuid.uuid4().hex},
    )
    assert posted.status_code == 200 and posted.json()["replies"]
    repeat = api.call(
        POST_MESSAGE, token=token, data={"text": "again", "client_key": posted_key(posted)}
    )
    assert repeat.status_code == 200
    redacted = api.call(POST_MESSAGE, token=token, data={"text": "Mail me: a@example.com"})
    assert redacted.json()["redacted_count"] == 1
    assert api.call(LIST_MESSAGES, token=token).json()["messages"]
    assert api.call(LIST_MESSAGES, token=token, query={"after": 10**6}).status_code == 200
    assert api.call(START, token=token).json()["messages"]  # resumed with its messages
    assert api.call(LANGUAGE, token=token, data={"language": "de-AT"}).status_code == 200
    assert api.call(HANDOVER, token=token).status_code == 200
    assert api.call(CONTACT, token=token, data=CONTACT_BODY).status_code == 201
    assert api.call(CONSENTS, token=token).json()["records"]
    assert api.call(EXPORT, token=token).json()["conversations"]
    assert api.call(WITHDRAW, token=token).status_code == 200
    assert api.call(CONSENTS, token=token).status_code == 200
    erased = api.call(ERASE, token=token)
    assert erased.status_code == 200 and erased.json()["receipt"]["erased"]["messages"] >= 3
    successes = {(method, path) for method, path, status in api.seen if status < 300}
    assert successes == set(OPERATIONS)


def posted_key(response) -> str:
    """The client_key of a posted message, read back from the request that sent it."""
    return json.loads(response.wsgi_request.body)["client_key"]


def test_a_contact_by_phone_and_an_export_with_staff_accesses_validate(api, personas):
    token = new_token(api)
    api.call(POST_MESSAGE, token=token, data={"text": "hello"})
    body = {"phone": "+49 30 1234567", "purpose": "Call me back.", "opt_in": True}
    assert api.call(CONTACT, token=token, data=body).json()["phone"] == "+49301234567"
    conversation = Conversation.objects.get()
    audit_access(
        company_id=personas.company_a.pk,
        actor=personas.alice,
        obj=conversation,
        event="conversation.open",
    )
    accesses = api.call(EXPORT, token=token).json()["accesses"]
    assert [a["by"] for a in accesses] == ["staff"]


# --- error paths ----------------------------------------------------------


def test_an_unknown_inbox_is_a_documented_404_on_every_operation(api, db):
    for op in OPERATIONS:
        response = api.call(op, key="nope", token="x" * 43, **BODIES.get(op, {}))
        assert response.status_code == 404, op


def test_a_missing_or_bad_token_is_a_documented_401(api, personas):
    for op in WITH_TOKEN:
        assert api.call(op, **BODIES.get(op, {})).status_code == 401, op
        assert api.call(op, token="not-a-token", **BODIES.get(op, {})).status_code == 401, op


def test_the_notice_gate_is_a_documented_403(api, personas):
    token = new_token(api)
    require_notice(personas)
    assert api.call(START).status_code == 403
    assert api.call(START, token=token).status_code == 403
    assert api.call(POST_MESSAGE, token=token, data={"text": "hello"}).status_code == 403
    assert api.call(HANDOVER, token=token).status_code == 403
    assert api.call(CONTACT, token=token, data=CONTACT_BODY).status_code == 403
    assert api.call(ACCEPT, data={"version": 2}).status_code == 409  # outdated
    assert api.call(ACCEPT, data={"version": 2}).json()["notice_version"] == 1


def test_no_notice_to_accept_is_a_documented_404(api, personas):
    response = api.call(ACCEPT, data={"version": 1})
    assert response.status_code == 404


def test_refused_text_and_contact_details_are_documented_400s(api, personas):
    token = new_token(api)
    for text in ("", "   ", "a" * 4001, "a\x00b", "bell\x07"):
        response = api.call(POST_MESSAGE, token=token, data={"text": text})
        assert response.status_code == 400 and response.json()["error"] == "invalid_text"
    for change in (
        {"opt_in": False},
        {"opt_in": "yes"},
        {"email": "not-an-email"},
        {"email": "", "phone": "12"},
        {"email": ""},
        {"name": "n" * 201},
        {"purpose": ""},
        {"purpose": "p" * 301},
    ):
        response = api.call(CONTACT, token=token, data={**CONTACT_BODY, **change})
        assert response.status_code == 400, change


def test_a_closed_conversation_and_a_missing_one_are_documented_409s(api, personas):
    token = new_token(api)
    Conversation.objects.update(status=Conversation.Status.CLOSED, closed_at=timezone.now())
    assert api.call(POST_MESSAGE, token=token, data={"text": "hello"}).status_code == 409
    assert api.call(HANDOVER, token=token).status_code == 409
    assert api.call(LIST_MESSAGES, token=token).status_code == 200
    assert api.call(START, token=token, data={"new": True}).status_code == 201

    publish_notice(personas.company_a)
    no_conversation = api.call(ACCEPT, data={"version": 1}).json()["token"]
    assert api.call(LIST_MESSAGES, token=no_conversation).status_code == 409
    response = api.call(LANGUAGE, token=no_conversation, data={"language": "en"})
    assert response.status_code == 409 and response.json()["error"] == "no_conversation"


def test_an_erasure_while_a_message_is_posted_is_a_documented_410(api, personas, monkeypatch):
    token = new_token(api)
    original = chat_services.message_text_for_storage

    def erased_meanwhile(**kwargs):  # runs after the request read the visitor
        request = erasure_request_create(
            company=personas.company_a, visitor=Visitor.objects.get(), actor=personas.alice
        )
        erasure_execute(request=request, actor=personas.alice)
        return original(**kwargs)

    monkeypatch.setattr(chat_services, "message_text_for_storage", erased_meanwhile)
    response = api.call(POST_MESSAGE, token=token, data={"text": "hello"})
    assert response.status_code == 410 and response.json()["error"] == "visitor_erased"


def test_an_erasure_under_legal_hold_is_a_documented_409(api, personas):
    token = new_token(api)
    Conversation.objects.update(legal_hold=True)
    assert api.call(ERASE, token=token).status_code == 409


def test_a_request_that_does_not_fit_its_schema_is_a_documented_422(api, personas):
    token = new_token(api)
    for body in (
        {"text": "hello", "client_key": "short"},
        {"text": 12},
        {},
        [],
        "null",
        {"choice": {"entry": "x"}},
        {"choice": {}},
    ):
        response = api.call(POST_MESSAGE, token=token, data=body)
        assert response.status_code == 422, body
        assert response.json()["error"] == "invalid_request"
    assert api.call(LIST_MESSAGES, token=token, query={"after": -1}).status_code == 422
    assert api.call(LIST_MESSAGES, token=token, query={"after": "x"}).status_code == 422
    assert api.call(START, data={"new": "maybe"}).status_code == 422
    assert api.call(START, data={"language": "x" * 36}).status_code == 422
    assert api.call(LANGUAGE, token=token, data={}).status_code == 422
    assert api.call(CONFIG, query={"language": "x" * 36}).status_code == 422
    publish_notice(personas.company_a)
    assert api.call(ACCEPT, data={"version": "one"}).status_code == 422
    assert api.call(ACCEPT, data={}).status_code == 422
    assert api.call(CONTACT, token=token, data={**CONTACT_BODY, "name": 5}).status_code == 422


def test_a_body_that_is_not_json_is_a_documented_400(api, personas):
    token = new_token(api)
    publish_notice(personas.company_a)
    for op in (START, POST_MESSAGE, ACCEPT, CONTACT, LANGUAGE):
        response = api.call(op, token=token, data="{not json")
        assert response.status_code == 400, op
        assert response.json()["error"] == "bad_request"


def test_a_rate_limit_is_a_documented_429_on_every_operation(api, personas, settings):
    publish_notice(personas.company_a)
    tokens = {op: new_token(api) for op in WITH_TOKEN}
    settings.HAFEN_RATE_CLIENT_PER_MINUTE = 1
    for op in OPERATIONS:
        settings.HAFEN_RATE_KEY_PREFIX = f"test-rl:{uuid.uuid4().hex}"
        # The window is a fixed minute: a third call is over the limit even if the
        # first two fell on both sides of a minute's boundary.
        for _ in range(3):
            response = api.call(op, token=tokens.get(op), **BODIES.get(op, {}))
            if response.status_code == 429:
                break
        assert response.status_code == 429, op
        assert int(response["Retry-After"]) == response.json()["retry_after"]


def test_a_body_over_the_cap_is_a_documented_413_on_every_operation(api, personas, settings):
    settings.HAFEN_API_MAX_BODY_BYTES = 100
    for op in OPERATIONS:
        body = {"data": "x" * 101} if op[0] == "post" else {"CONTENT_LENGTH": "101"}
        response = api.call(op, **body)
        assert response.status_code == 413, op


def test_a_database_that_cannot_be_reached_is_a_documented_503_on_every_operation(
    api, personas, monkeypatch
):
    tokens = {op: new_token(api) for op in WITH_TOKEN}

    def down(self, sql, params=None):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(CursorWrapper, "execute", down)
    for op in OPERATIONS:
        response = api.call(op, token=tokens.get(op), **BODIES.get(op, {}))
        assert response.status_code == 503, op
        assert response.json()["error"] == "unavailable" and response["Retry-After"]


# --- the bot (issue 14) ---------------------------------------------------


def test_the_bots_quick_replies_and_the_language_switch_validate(api, personas):
    """choices on a bot message, a clicked choice, the language on the conversation,
    and the refusals (unknown entry, unknown language), against the document."""
    entry = FaqEntry.objects.create(
        company=personas.company_a,
        inbox=personas.inbox_a,
        questions="What are your opening hours?",
        answer="Monday to Friday, 9 to 6.",
    )
    started = api.call(START, data={"language": "de-DE"})
    assert started.json()["conversation"]["language"] == "de"
    token = started.json()["token"]
    missed = api.call(POST_MESSAGE, token=token, data={"text": "zzzz qqqq xxxx"})
    assert missed.status_code == 200
    assert missed.json()["replies"][0]["choices"][-1]["action"] == "handover"
    clicked = api.call(POST_MESSAGE, token=token, data={"choice": {"entry": entry.pk}})
    assert clicked.status_code == 200
    assert clicked.json()["message"]["body"] == "What are your opening hours?"
    assert clicked.json()["replies"][0]["body"] == "Monday to Friday, 9 to 6."
    assert clicked.json()["replies"][0]["choices"] is None
    refused = api.call(POST_MESSAGE, token=token, data={"choice": {"entry": entry.pk + 99}})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_choice"
    switched = api.call(LANGUAGE, token=token, data={"language": "en-GB"})
    assert switched.json()["conversation"]["language"] == "en"
    assert switched.json()["strings"]["talkToPerson"] == "Talk to a person"
    bad = api.call(LANGUAGE, token=token, data={"language": "fr"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_language"
    assert Conversation.objects.get().language == "en"
    assert api.call(CONFIG, query={"language": "en-US"}).json()["language"] == "en"
    assert api.call(LIST_MESSAGES, token=token).json()["messages"][1]["choices"]
