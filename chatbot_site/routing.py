"""The WebSocket paths (the HTTP ones are in urls.py); consumers in conversations/consumers.py."""

from django.urls import path

from conversations.consumers import ConsoleConsumer, VisitorConsumer

websocket_urlpatterns = [
    path("ws/console/", ConsoleConsumer.as_asgi()),
    path("ws/chat/<str:public_key>/", VisitorConsumer.as_asgi()),
]
