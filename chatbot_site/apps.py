from django.apps import AppConfig
from django.core.signals import setting_changed

from chatbot_site import checks  # noqa: F401  (registers the system checks)
from chatbot_site.lib.crypto import install_strict_reads, sync_library_crypter


class ChatbotSiteConfig(AppConfig):
    name = "chatbot_site"
    verbose_name = "Hafen"

    def ready(self) -> None:
        # A stored value no key decrypts raises UndecryptableValue, never reads as text.
        install_strict_reads()
        setting_changed.connect(sync_library_crypter, dispatch_uid="hafen-field-crypter")
