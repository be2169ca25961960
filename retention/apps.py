from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = _("Retention")

    def ready(self) -> None:
        from chatbot_site.lib.audit import register

        from . import models

        register(models.RetentionPolicy)
        register(models.RetentionRun)
        register(models.LegalHold, personal_fields=("reason",))
        register(models.ErasureRequest, personal_fields=("receipt", "visitor"))
