"""The chat's seam to consent (conversations/chat_consent.py): installed, and never skipped."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from consent import selectors as consent_selectors
from consent import services as consent_services
from conversations import chat_consent


def test_consent_installs_every_hook_with_its_own_functions():
    assert chat_consent._installed == {
        "notice_current": consent_selectors.notice_current,
        "notice_to_accept": consent_selectors.notice_to_accept,
        "notice_require": consent_services.notice_require,
        "message_text_for_storage": consent_services.message_text_for_storage,
        "latest_consent_sql": consent_selectors.latest_consent_sql,
        "current_notice_id_sql": consent_selectors.current_notice_id_sql,
    }
    assert consent_selectors.CONTACT_ACTION_ATTR == chat_consent.CONTACT_ACTION_ATTR


def test_without_consent_the_chat_refuses_instead_of_storing_unredacted_text(monkeypatch):
    monkeypatch.setattr(chat_consent, "_installed", {})
    with pytest.raises(ImproperlyConfigured, match="message_text_for_storage"):
        chat_consent.message_text_for_storage(visitor=None, text="jana@example.com")
    with pytest.raises(ImproperlyConfigured, match="notice_require"):
        chat_consent.notice_require(inbox=None, visitor=None)


def test_install_takes_exactly_the_listed_hooks(monkeypatch):
    monkeypatch.setattr(chat_consent, "_installed", {})
    some = {name: print for name in chat_consent.HOOKS[:-1]}
    with pytest.raises(TypeError, match="current_notice_id_sql"):
        chat_consent.install(**some)
    with pytest.raises(TypeError, match="extra"):
        chat_consent.install(**some, current_notice_id_sql=print, extra=print)
    assert chat_consent._installed == {}
