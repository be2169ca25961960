"""Visitor-facing pages: the chat page and the demo website."""


app_name = "chat"

urlpatterns: list = []
