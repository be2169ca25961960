from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = _("Conversations")

    def ready(self) -> None:
        from chatbot_site.lib.audit import register

        from . import models

        register(models.Inbox)
        register(models.FaqEntry)
        register(models.Visitor, personal_fields=("token_hash", "email_index"))
        register(models.Conversation)
        register(models.Message)
        register(models.InboxGroupObjectPermission)
