from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from chatbot_site.lib.audit import register


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = _("Retention")

    def ready(self) -> None:
        # Django forces this one inside ready(): models may only be imported
        # once the app registry has loaded every app.
        from . import models

        register(models.RetentionPolicy)
        register(models.RetentionRun)
        register(models.LegalHold, personal_fields=("reason",))
        register(models.ErasureRequest, personal_fields=("receipt", "visitor"))
        register(
            models.SubjectRequest,
            personal_fields=(
                "conversation_reference",
                "email_index",
                "extension_reason",
                "note",
                "refusal_reason",
            ),
        )
