"""Language and time for staff (issue 15): a remembered language, a time zone, German audit labels."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from auditlog.registry import auditlog
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts import audit_labels
from accounts.models import StaffPreference
from accounts.services import company_create, team_member_add_by
from retention.services.policy import policy_get_or_create, policy_update
from tests.accounts.twofactor_helpers import sign_in_password
from tests.conversations.console_helpers import conversation_in
from tests.test_console_urls import console_urls_of_company_a

pytestmark = pytest.mark.django_db

HOME = "/console/"
AUDIT = "/console/audit/"


def _switch(client, language: str, next_url: str = HOME):
    return client.post(
        reverse("accounts:language_switch"), {"language": language, "next": next_url}
    )


def _lang(response) -> str:
    return re.search(r'<html lang="([a-z-]+)"', response.content.decode()).group(1)


def _visible_text(html: str) -> str:
    main = html.split('<main id="main"', 1)[1]
    main = re.sub(r"<(script|style)\b.*?</\1>", " ", main, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def test_a_member_picks_a_language_and_the_console_keeps_it(personas, login):
    client = login(personas.alice)  # Acme's language is English
    assert _lang(client.get(HOME)) == "en"

    response = _switch(client, "de", next_url=AUDIT)
    assert response.status_code == 302 and response["Location"] == AUDIT
    assert StaffPreference.objects.get(user=personas.alice).language == "de"
    for url in (HOME, AUDIT, reverse("accounts:account")):
        assert _lang(client.get(url)) == "de"
    assert "Ihr Konto" in client.get(reverse("accounts:account")).content.decode()

    _switch(client, "en")
    assert _lang(client.get(HOME)) == "en"
    # Remembered for the person, not the session: a new sign-in reads German again.
    _switch(client, "de")
    client.logout()
    assert _lang(login(personas.alice).get(HOME)) == "de"
    # Bob has chosen nothing: his console speaks the company's language.
    assert _lang(login(personas.bob).get(HOME)) == "en"


def test_the_switch_never_redirects_off_site(personas, login):
    response = _switch(login(personas.alice), "de", next_url="https://evil.example/")
    assert response["Location"] == reverse("accounts:home")


def test_the_time_zone_changes_how_a_time_reads(personas, login):
    started = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # winter: Berlin +1, Dublin +0
    conversation = conversation_in(personas.inbox_a)
    type(conversation).objects.filter(pk=conversation.pk).update(started_at=started)
    client = login(personas.bob)
    url = reverse("conversations:detail", kwargs={"conversation_id": conversation.pk})

    def shown(zone: str) -> str:
        response = client.post(
            reverse("accounts:preferences_update"), {"language": "de", "timezone": zone}
        )
        assert response.status_code == 302
        return client.get(url).content.decode()

    assert "02.03.2026 14:00" in shown("Europe/Berlin")
    assert "02.03.2026 13:00" in shown("Europe/Dublin")
    # "As the company": Acme is German, so Berlin time.
    assert "02.03.2026 14:00" in shown("")


def test_an_unknown_time_zone_is_refused(personas, login):
    response = login(personas.bob).post(
        reverse("accounts:preferences_update"), {"language": "", "timezone": "Mars/Olympus"}
    )
    assert response.status_code == 400
    assert not StaffPreference.objects.filter(user=personas.bob).exists()


def test_a_new_company_takes_its_time_zone_from_its_country(db):
    assert company_create(slug="eire", name="Eire Ltd", country="IE").timezone == "Europe/Dublin"
    assert company_create(slug="wien", name="Wien GmbH", country="AT").timezone == "Europe/Vienna"
    assert company_create(slug="else", name="Else", country="PL").timezone == "Europe/Berlin"


def _english_and_german_labels() -> list[tuple[str, str]]:
    """Every audit label (events, actions, model names) in English and in German."""
    lazy = [*audit_labels.EVENT_LABELS.values(), *audit_labels.ACTION_LABELS.values()]
    models = [m for m in auditlog.get_models() if m._meta.app_label != "auth"]
    pairs = []
    for label in [*lazy, *(m._meta.verbose_name for m in models)]:
        with translation.override("en"):
            english = str(label)
        with translation.override("de"):
            german = str(label)
        if english.lower() != german.lower():
            pairs.append((english, german))
    return pairs


def _varied_trail(personas, client_factory):
    sign_in_password(client_factory(), personas.alice, personas.password)  # signin.succeeded
    conversation = conversation_in(personas.inbox_a)
    client_factory(personas.bob).get(  # conversation.open
        reverse("conversations:detail", kwargs={"conversation_id": conversation.pk})
    )
    team_member_add_by(team=personas.quality, user=personas.bob, actor=personas.alice)
    policy = policy_get_or_create(company=personas.company_a)
    policy_update(
        policy=policy,
        conversation_days=policy.conversation_days - 1,
        personal_data_days=min(policy.personal_data_days, policy.conversation_days - 1),
        audit_days=policy.audit_days,
        run_hour=policy.run_hour,
        actor=personas.alice,
    )


def test_german_audit_pages_contain_no_english_audit_labels(personas, login):
    def client_factory(user=None):
        return login(user) if user is not None else Client()

    _varied_trail(personas, client_factory)
    admin = login(personas.alice)
    _switch(admin, "de")
    html = admin.get(AUDIT).content.decode()
    text = _visible_text(html)

    pairs = _english_and_german_labels()
    assert len(pairs) > 40
    leaked = [en for en, _de in pairs if re.search(rf"\b{re.escape(en)}\b", text, re.I)]
    assert leaked == []
    for event in ("signin.succeeded", "conversation.open", "team.member_add"):
        with translation.override("de"):
            assert str(audit_labels.EVENT_LABELS[event]) in text
    assert "Aufbewahrungsrichtlinie: geändert" in text
    # no raw codes or dicts in what people read
    assert "conversation.open" not in text and "{'" not in text and "_id" not in text


def test_the_audit_csv_keeps_machine_codes_and_iso_times_with_the_offset(personas, login):
    conversation = conversation_in(personas.inbox_a)
    login(personas.bob).get(
        reverse("conversations:detail", kwargs={"conversation_id": conversation.pk})
    )
    admin = login(personas.alice)
    _switch(admin, "de")
    response = admin.get(reverse("accounts:audit_export"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    opened = [r for r in rows if r["event"] == "conversation.open"]
    assert opened and opened[0]["action"] == "access"
    assert opened[0]["event_label"] == "Unterhaltung geöffnet"
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", row["time"]), row


def test_a_reverse_relation_on_the_audit_page_is_named_by_its_model_in_german():
    from accounts.audit_labels import _model_field, key_label
    from conversations.models import Inbox

    field = _model_field(Inbox, "conversations")
    assert field is not None
    with translation.override("de"):
        assert key_label("conversations", field) == "Unterhaltungen"


def _english_phrases_of_the_catalog() -> list[str]:
    """The English texts of our German catalog that German pages must not show:
    every msgid with a different translation, cut at its placeholders, keeping the
    literal pieces of two words or more (single words like "Name" or "Status" are
    the same in both languages or too common to tell)."""
    import gettext
    from pathlib import Path

    from django.conf import settings

    mo = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES" / "django.mo"
    with mo.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog
    phrases = set()
    for msgid, msgstr in catalog.items():
        if isinstance(msgid, tuple):  # a plural form: ("%(n)s entry", 0)
            msgid = msgid[0]
        if not msgid or not msgstr or msgid == msgstr:
            continue
        for piece in re.split(r"%\(\w+\)[sd]|%[sd]|\{\w*\}", msgid):
            piece = piece.strip(" .,:;!?()\"'«»…-\n")
            if len(piece.split()) >= 2:
                phrases.add(piece)
    return sorted(phrases)


def test_every_console_page_in_german_shows_no_english_text_of_the_catalog(personas, login):
    """Walks every console URL (the URL conf, filled with company A's objects) as
    company A's admin with German chosen, and looks for the catalog's English phrases
    in what a person reads on each page."""
    admin = login(personas.alice)
    _switch(admin, "de")
    phrases = _english_phrases_of_the_catalog()
    assert len(phrases) > 300
    pages = leaks = 0
    found: dict[str, list[str]] = {}
    for url, _has_params in console_urls_of_company_a(personas):
        response = admin.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        if '<main id="main"' not in html:
            continue
        pages += 1
        assert _lang(response) == "de", url
        text = _visible_text(html)
        for phrase in phrases:
            if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text):
                found.setdefault(url, []).append(phrase)
                leaks += 1
    assert pages > 25
    assert found == {}, f"{leaks} English phrases on German pages"


def test_a_console_page_puts_the_threads_language_and_time_zone_back(personas, login):
    """The member's German and time zone hold for their page (and for each chunk of a
    streamed export), not for what the same thread does next."""
    from django.utils import timezone

    conversation = conversation_in(personas.inbox_a)
    login(personas.bob).get(
        reverse("conversations:detail", kwargs={"conversation_id": conversation.pk})
    )
    admin = login(personas.alice)
    _switch(admin, "de")
    StaffPreference.objects.filter(user=personas.alice).update(timezone="Asia/Tokyo")
    with timezone.override("UTC"):
        response = admin.get(HOME, HTTP_ACCEPT_LANGUAGE="en")
        assert _lang(response) == "de"
        assert translation.get_language() == "en"  # what Django's LocaleMiddleware chose
        assert timezone.get_current_timezone_name() == "UTC"
        export = admin.get(reverse("accounts:audit_export"), HTTP_ACCEPT_LANGUAGE="en")
        assert translation.get_language() == "en"
        text = b"".join(export.streaming_content).decode()
        assert ",Unterhaltung geöffnet," in text  # the label column, in the member's German
        assert translation.get_language() == "en"
        assert timezone.get_current_timezone_name() == "UTC"


def _detail_keys(value, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            found.add(key)
            _detail_keys(inner, found)
    elif isinstance(value, list | tuple):
        for inner in value:
            _detail_keys(inner, found)
    return found


def test_the_dpo_trail_reads_in_german_labels_and_choice_names(personas, login):
    """Open and reveal, a filed and answered erasure request, the erasure: every detail
    on the German audit page has a German label, and coded values (channel, kind,
    status, origin) read as their names, not as codes."""
    from auditlog.models import LogEntry
    from guardian.shortcuts import assign_perm

    from accounts.models import Membership
    from conversations.services.operator import conversation_open, personal_data_reveal
    from retention.models import SubjectRequest
    from retention.services.requests import subject_request_create, subject_request_fulfil

    assign_perm("conversations.view_personal_data", personas.support.group, personas.inbox_a)
    conversation = conversation_in(personas.inbox_a)
    bob = Membership.objects.get(user=personas.bob, company=personas.company_a)
    alice = Membership.objects.get(user=personas.alice, company=personas.company_a)
    conversation_open(membership=bob, conversation=conversation)
    personal_data_reveal(membership=bob, conversation=conversation, reason="Rückruf erbeten")
    filed = subject_request_create(
        membership=alice,
        kind=SubjectRequest.Kind.ERASURE,
        channel=SubjectRequest.Channel.EMAIL,
        received_on=datetime.now(UTC).date(),
        conversation_reference=conversation.reference,
    )
    subject_request_fulfil(membership=alice, request=filed)

    keys = set()
    for extra in LogEntry.objects.values_list("additional_data", flat=True):
        _detail_keys(extra or {}, keys)
    unlabelled = sorted(
        k for k in keys - {"company_id", "event"} if k not in audit_labels.FIELD_LABELS
    )
    assert unlabelled == [], unlabelled

    admin = login(personas.alice)
    _switch(admin, "de")
    text = _visible_text(admin.get(AUDIT).content.decode())
    for english in ("Channel", "Kind", "Reason", "Revealed", "Erased"):  # not erased-subject-N
        assert not re.search(rf"\b{english}\b", text), english
    for code in (": email", ": erasure", ": open", ": done", ": admin"):
        assert code not in text, code
    for name in ("E-Mail", "Löschung (Art. 17)", "Erledigt", "Gelöschte Unterhaltungen", "Grund"):
        assert name in text, name
    assert "FAQ-Eintrag" in text and "Faq-eintrag" not in text  # the object filter's names
