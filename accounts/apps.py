from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from chatbot_site.lib.audit import register


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # Django forces this one inside ready(): models may only be imported
        # once the app registry has loaded every app.
        from . import models

        register(models.Company)
        register(models.Membership)
        register(models.Team)
