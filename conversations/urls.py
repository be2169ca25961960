"""Visitor-facing pages: the chat page (framed by widget.js) and the demo website."""

from django.urls import path

from conversations.views import chat

app_name = "chat"

urlpatterns = [
    path("chat/<str:public_key>/", chat.chat_page, name="page"),
    path("demo/", chat.demo_page, name="demo"),
]
