"""Operators: the conversation list and detail."""


app_name = "conversations"

urlpatterns: list = []
