from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from chatbot_site.lib.audit import register


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = _("Conversations")

    def ready(self) -> None:
        # Django forces this one inside ready(): models may only be imported
        # once the app registry has loaded every app.
        from . import models

        register(models.Inbox)
        register(models.FaqEntry)
        register(models.Visitor, personal_fields=("token_hash", "email_index"))
        register(models.Conversation)
        register(models.Message)
        register(models.InboxGroupObjectPermission)
        register(models.CannedReply)
