"""Operators: the conversation list and detail."""

from django.urls import path

from conversations.views import console as views

app_name = "conversations"

urlpatterns: list = [
    path("console/conversations/", views.conversation_list_view, name="list"),
    path("console/conversations/updates/", views.conversation_list_partial, name="list_partial"),
    path("console/conversations/<int:conversation_id>/", views.conversation_detail, name="detail"),
    path(
        "console/conversations/<int:conversation_id>/reply/",
        views.conversation_reply_view,
        name="reply",
    ),
    path(
        "console/conversations/<int:conversation_id>/take-over/",
        views.conversation_take_over_view,
        name="take_over",
    ),
    path(
        "console/conversations/<int:conversation_id>/close/",
        views.conversation_close_view,
        name="close",
    ),
    path(
        "console/conversations/<int:conversation_id>/reveal/",
        views.conversation_reveal,
        name="reveal",
    ),
    path(
        "console/conversations/<int:conversation_id>/export/",
        views.conversation_export_view,
        name="export",
    ),
]
