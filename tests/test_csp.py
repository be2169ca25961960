"""Every console, login and public page answers with a Content-Security-Policy that
allows no inline script (issue 12, "Headers on every page").

The console URLs come from the same URL-conf walk as tests/test_console_urls.py,
so a view added later is covered without touching this file.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from consent.models import PrivacyNotice
from tests.test_console_urls import console_urls  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

HEADER = "Content-Security-Policy"


def directives(policy: str) -> dict[str, list[str]]:
    """{"script-src": ["'self'"], ...} from a policy string."""
    found = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            found[words[0]] = words[1:]
    return found


def assert_strict(response, where: str, *, frame_ancestors: list[str] | None = None) -> None:
    assert HEADER in response, f"{where}: no {HEADER} (status {response.status_code})"
    policy = directives(response[HEADER])
    for name in ("script-src", "style-src", "default-src"):
        assert policy.get(name) == ["'self'"], f"{where}: {name} is {policy.get(name)}"
    assert "'unsafe-inline'" not in response[HEADER], where
    assert "'unsafe-eval'" not in response[HEADER], where
    assert policy.get("object-src") == ["'none'"], where
    assert policy.get("base-uri") == ["'none'"], where
    assert policy.get("form-action") == ["'self'"], where
    assert set(policy.get("img-src", [])) == {"'self'", "data:"}, where
    assert policy.get("frame-ancestors") == (frame_ancestors or ["'none'"]), where


def test_every_console_url_sends_the_strict_policy_to_an_admin(client, personas, console_urls):  # noqa: F811
    client.force_login(personas.alice)
    assert len(console_urls) > 40
    for url, _has_params in console_urls:
        assert_strict(client.get(url), f"GET {url}")


def test_the_policy_is_on_redirects_and_refusals_too(client, personas, console_urls):  # noqa: F811
    client.force_login(personas.charlie)  # a viewer: many console pages refuse him
    statuses = set()
    for url, _has_params in console_urls:
        response = client.post(url)
        statuses.add(response.status_code)
        assert_strict(response, f"POST {url} as a viewer")
    assert statuses & {403, 404} and statuses & {302, 405}


def test_the_login_page_and_the_public_pages_send_the_strict_policy(client, personas):
    PrivacyNotice.objects.create(
        company=personas.company_a,
        version=1,
        title="Privacy",
        text="Text.",
        published_at=timezone.now(),
    )
    for url in (
        "/accounts/login/",
        "/privacy/acme/",
        "/privacy/acme/notice/1/",
        "/demo/",
        "/no-such-page/",
    ):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert_strict(response, url)


def test_the_receipt_verify_page_sends_the_strict_policy(client, personas):
    client.force_login(personas.alice)
    assert_strict(client.get("/console/erasure/verify/"), "receipt verify")
    assert_strict(client.post("/console/erasure/verify/", {}), "receipt verify (POST)")


def test_the_chat_page_keeps_its_own_policy_with_the_inbox_origins(client, personas):
    personas.inbox_a.allowed_origins = "https://www.acme.example"
    personas.inbox_a.save()
    response = client.get("/chat/acme-web/")
    assert response.status_code == 200
    assert response[HEADER].count("frame-ancestors") == 1  # django-csp added nothing
    assert_strict(
        response, "/chat/acme-web/", frame_ancestors=["'self'", "https://www.acme.example"]
    )


# --- the templates hold nothing the policy would block ------------------------

TEMPLATE_DIRS = ("templates",)
INLINE_SCRIPT = re.compile(
    r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I
)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)


def template_files():
    root = Path(settings.BASE_DIR)
    files = [p for d in TEMPLATE_DIRS for p in (root / d).rglob("*.html")]
    for app in ("accounts", "conversations", "consent", "retention", "chatbot_site"):
        files.extend((root / app).rglob("templates/**/*.html"))
    return sorted(set(files))


@pytest.mark.parametrize(
    ("pattern", "what"),
    [
        (INLINE_SCRIPT, "an inline <script> (only src= or type=application/json)"),
        (INLINE_HANDLER, "an inline event handler (on...=)"),
        (INLINE_STYLE, "a <style> block or style= attribute (use a CSS file)"),
    ],
)
def test_no_template_holds_what_the_policy_blocks(pattern, what):
    files = template_files()
    assert len(files) > 20
    offenders = [
        f"{path.name}: {m.group(0).strip()}"
        for path in files
        for m in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"{what}: {offenders}"


def test_the_template_scan_finds_what_it_looks_for():
    """The patterns themselves: each catches its case and lets the allowed forms pass."""
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/a.js" defer></script>')
    assert not INLINE_SCRIPT.search('<script type="application/json" id="x">{}</script>')
    assert INLINE_HANDLER.search('<select onchange="this.form.submit()">')
    assert not INLINE_HANDLER.search('<select data-autosubmit name="company">')
    assert INLINE_STYLE.search('<p style="color:red">') and INLINE_STYLE.search("<style>")
