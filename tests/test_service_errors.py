"""One service error type (chatbot_site.lib.errors), answered once for the API and once for pages.

The API side is also covered end to end by the chat, consent and erasure API
tests (statuses, codes, extra fields, Retry-After); this module checks the type
itself and the page middleware's two answers that no view test reaches.
"""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.services import TeamError
from chatbot_site.lib.errors import NotAllowed, ServiceError, form_add_error
from chatbot_site.middleware import ServiceErrorMiddleware
from consent.services import ConsentError
from conversations.services.chat import ChatError, ConversationClosed, VisitorErased
from conversations.services.operator import OperatorError
from retention.services.erasure import ErasureError
from retention.services.ledger import LedgerError


def test_every_domain_error_is_a_service_error_with_a_code_and_a_status():
    cases = [
        (ConversationClosed("closed"), "conversation_closed", 409),
        (VisitorErased("gone"), "visitor_erased", 410),
        (OperatorError("taken"), "action_refused", 409),
        (TeamError("no name"), "team_invalid", 400),
        (ErasureError("held", code="legal_hold"), "legal_hold", 409),
        (LedgerError("unreadable"), "ledger_unavailable", 503),
        (ConsentError("old", code="notice_outdated", status=409), "notice_outdated", 409),
        (NotAllowed("no"), "forbidden", 403),
    ]
    for error, code, status in cases:
        assert isinstance(error, ServiceError)
        assert (error.code, error.status) == (code, status)
    assert isinstance(VisitorErased("gone"), ChatError)


def test_a_raise_site_overrides_the_defaults_and_a_code_is_required():
    error = ErasureError("no ledger", code="ledger_unavailable", status=503, extra={"id": 3})
    assert (error.status, error.extra, str(error)) == (503, {"id": 3}, "no ledger")
    with pytest.raises(TypeError):
        ServiceError("which one?")


def test_form_add_error_puts_the_message_next_to_the_field_the_service_named():
    added = []

    class Form:
        def add_error(self, field, message):
            added.append((field, message))

    form_add_error(Form(), ServiceError("Say why.", code="reason_missing", field="reason"))
    form_add_error(Form(), ServiceError("Refused.", code="refused"))
    assert added == [("reason", "Say why."), (None, "Refused.")]


def _request(path: str = "/console/x/", **headers):
    request = RequestFactory().post(path, **headers)
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def _middleware() -> ServiceErrorMiddleware:
    return ServiceErrorMiddleware(lambda request: HttpResponse())


def test_pages_answer_not_allowed_with_the_403_page():
    response = _middleware().process_exception(_request(), NotAllowed("no"))
    assert response.status_code == 403


def test_pages_answer_another_service_error_with_a_message_and_a_redirect_back():
    request = _request(HTTP_REFERER="http://testserver/console/x/")
    response = _middleware().process_exception(request, ConsentError("Draft first.", code="d"))
    assert (response.status_code, response["Location"]) == (302, "http://testserver/console/x/")
    assert [str(m) for m in get_messages(request)] == ["Draft first."]


def test_pages_never_redirect_to_another_site_and_escape_the_message():
    request = _request(HTTP_REFERER="https://elsewhere.example/")
    error = OperatorError("<b>Taken</b> by someone")
    response = _middleware().process_exception(request, error)
    assert response.status_code == 409
    assert b"&lt;b&gt;Taken&lt;/b&gt;" in response.content and b"<b>" not in response.content


def test_the_page_middleware_leaves_other_exceptions_and_the_api_alone():
    assert _middleware().process_exception(_request(), ValueError("x")) is None
    api = _request("/api/chat/x/messages")
    assert _middleware().process_exception(api, ServiceError("x", code="y")) is None
