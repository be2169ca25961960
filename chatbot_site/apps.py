from django.apps import AppConfig


class ChatbotSiteConfig(AppConfig):
    name = "chatbot_site"
    verbose_name = "Hafen"

    def ready(self) -> None:
        from chatbot_site import checks  # noqa: F401  (registers the system checks)
