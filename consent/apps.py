from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from chatbot_site.lib.audit import register
from conversations import chat_consent


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = _("Consent")

    def ready(self) -> None:
        # Django forces these inside ready(): models (and the selectors and
        # services, which import them) may only be imported once the app
        # registry has loaded every app.
        from . import models, selectors, services

        register(models.PrivacyNotice, personal_fields=("text", "translation_text"))
        register(models.ConsentRecord, personal_fields=("purpose_text",))
        register(models.ContactRequest, personal_fields=("purpose_text",))
        # The visitor chat (conversations) asks consent through these hooks:
        # consent sits above conversations, so the call goes this way round
        # (conversations/chat_consent.py says why).
        chat_consent.install(
            notice_current=selectors.notice_current,
            notice_to_accept=selectors.notice_to_accept,
            notice_require=services.notice_require,
            message_text_for_storage=services.message_text_for_storage,
            latest_consent_sql=selectors.latest_consent_sql,
            current_notice_id_sql=selectors.current_notice_id_sql,
        )
