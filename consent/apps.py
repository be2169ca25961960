from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from chatbot_site.lib.audit import register


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = _("Consent")

    def ready(self) -> None:
        # Django forces this one inside ready(): models may only be imported
        # once the app registry has loaded every app.
        from . import models

        register(models.PrivacyNotice, personal_fields=("text", "translation_text"))
        register(models.ConsentRecord, personal_fields=("purpose_text",))
        register(models.ContactRequest, personal_fields=("purpose_text",))
