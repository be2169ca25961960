"""Every console URL answers 404 or a login redirect to those who may not see it.

The URL conf is walked at test time, so a view added later (by any app) is
covered automatically; a path parameter this test cannot fill with an object
of company A fails the test, so a new view cannot escape by naming its
parameter differently: add the name to OBJECT_FOR below.
"""

import re
from collections.abc import Callable, Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conversations.console_helpers import conversation_in
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def console_routes() -> list[str]:
    """Every route under console/, as "console/teams/<int:team_id>/" strings."""

    def walk(patterns, prefix: str) -> Iterator[str]:
        for p in patterns:
            route = getattr(p.pattern, "_route", None)
            if route is None:  # a regex pattern: use its source without anchors
                route = p.pattern.regex.pattern.lstrip("^").rstrip("$").rstrip("\\Z")
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + route)
            elif isinstance(p, URLPattern):
                yield prefix + route

    return sorted({r for r in walk(get_resolver().url_patterns, "") if r.startswith("console/")})


def _objects_of_company_a(personas) -> dict[str, Callable[[], object]]:
    """Converter names -> a callable returning the value for one of company A's objects."""

    def conversation():
        c = conversation_in(personas.inbox_a, status="waiting")
        MessageFactory(conversation=c, body="hello")
        return c.pk

    def legal_hold():
        from retention.models import LegalHold

        c = conversation_in(personas.inbox_a)
        return LegalHold.objects.create(
            company=personas.company_a, conversation=c, reason="audit", placed_by=personas.alice
        ).pk

    def erasure_request():
        from retention.models import ErasureRequest

        c = conversation_in(personas.inbox_a)
        return ErasureRequest.objects.create(
            company=personas.company_a, visitor=c.visitor, origin="admin"
        ).pk

    def notice_version():
        from consent.models import PrivacyNotice

        return PrivacyNotice.objects.create(
            company=personas.company_a, version=7, title="Notice", text="Text"
        ).version

    def faq():
        from conversations.models import FaqEntry

        return FaqEntry.objects.create(
            company=personas.company_a, inbox=personas.inbox_a, questions="Hi?", answer="Hello"
        ).pk

    def visitor():
        return conversation_in(personas.inbox_a).visitor_id

    def invitation():
        from datetime import timedelta

        from django.utils import timezone

        from accounts.models import Invitation

        return Invitation.objects.create(
            company=personas.company_a,
            email="invited@example.com",
            role="operator",
            token_hash="0" * 64,
            expires_at=timezone.now() + timedelta(hours=1),
        ).pk

    def canned():
        from conversations.models import CannedReply

        return CannedReply.objects.create(
            company=personas.company_a, shortcut="greeting", text="Hello"
        ).pk

    return {
        "conversation_id": conversation,
        "inbox_id": lambda: personas.inbox_a.pk,
        "team_id": lambda: personas.support.pk,
        "user_id": lambda: personas.bob.pk,
        "hold_id": legal_hold,
        "request_id": erasure_request,
        "erasure_id": erasure_request,
        "version": notice_version,
        "faq_id": faq,
        "entry_id": faq,
        "visitor_id": visitor,
        "invitation_id": invitation,
        "canned_id": canned,
    }


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def fill(route: str, values: dict[str, object]) -> str:
    return "/" + PARAM.sub(lambda m: str(values[m.group("name")]), route)


@pytest.fixture
def console_urls(personas) -> list[tuple[str, bool]]:
    return console_urls_of_company_a(personas)


def console_urls_of_company_a(personas) -> list[tuple[str, bool]]:
    """(url, has parameters) for every console route, filled with company A's objects."""
    builders = _objects_of_company_a(personas)
    routes = console_routes()
    names = {m.group("name") for r in routes for m in PARAM.finditer(r)}
    unknown = names - builders.keys()
    assert not unknown, f"console URL parameters this test cannot fill: {sorted(unknown)}"
    values = {name: builders[name]() for name in names}
    return [(fill(r, values), bool(PARAM.search(r))) for r in routes]


def test_the_walk_finds_the_console_urls_of_every_area(console_urls):
    urls = [u for u, _p in console_urls]
    assert "/console/conversations/" in urls
    assert "/console/audit/" in urls and "/console/teams/" in urls
    assert any(re.fullmatch(r"/console/conversations/\d+/reply/", u) for u in urls)


def test_anonymous_users_are_sent_to_the_login_page_from_every_console_url(client, console_urls):
    for url, _has_params in console_urls:
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code in (302, 404), f"{method.__name__.upper()} {url}"
            if response.status_code == 302:
                assert response["Location"].startswith("/accounts/login/"), url


def test_another_companys_admin_gets_404_for_every_console_url_of_company_a(
    client, personas, console_urls
):
    client.force_login(personas.dave)
    for url, has_params in console_urls:
        if has_params:
            for method in (client.get, client.post):
                response = method(url)
                assert response.status_code in (404, 405), (
                    f"{method.__name__.upper()} {url} answered {response.status_code} for company B"
                )
        else:
            # a page without ids shows dave his own company, never company A
            response = client.get(url)
            assert response.status_code in (200, 302, 404, 405), url
            assert b"Acme" not in body(response), url
