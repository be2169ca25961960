from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from chatbot_site.lib.audit import register

        from . import models

        register(models.Company)
        register(models.Membership)
        register(models.Team)
