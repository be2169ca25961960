"""Operators: the conversation list and detail; admins: the rights matrix.

``accounts_urlpatterns`` are console pages that keep their ``accounts:`` names
(the console home, the rights matrix, deleting a team) but read or write inbox
rights, so they live here, next to Inbox; chatbot_site/urls.py mounts them into
the accounts namespace together with accounts.urls (accounts imports no app).
"""

from django.urls import path

from conversations.views import canned, home, live, rights, search, unanswered
from conversations.views import console as views

app_name = "conversations"

urlpatterns: list = [
    path("console/conversations/", views.conversation_list_view, name="list"),
    path("console/conversations/updates/", views.conversation_list_partial, name="list_partial"),
    path("console/counts.json", views.conversation_counts_view, name="counts"),
    path("console/conversations/<int:conversation_id>/", views.conversation_detail, name="detail"),
    path(
        "console/conversations/<int:conversation_id>/live/",
        live.conversation_live,
        name="live",
    ),
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
    path("console/search/", search.conversation_search_view, name="search"),
    path("console/unanswered/", unanswered.unanswered_list_view, name="unanswered"),
    path("console/unanswered/add/", unanswered.unanswered_add_view, name="unanswered_add"),
    path("console/canned/", canned.canned_list_view, name="canned_list"),
    path("console/canned/new/", canned.canned_create_view, name="canned_create"),
    path("console/canned/<int:canned_id>/", canned.canned_edit_view, name="canned_edit"),
    path("console/canned/<int:canned_id>/delete/", canned.canned_delete_view, name="canned_delete"),
]

accounts_urlpatterns: list = [
    path("console/", home.home, name="home"),
    path("console/rights/", rights.rights_matrix_view, name="rights"),
    path("console/teams/<int:team_id>/delete/", rights.team_delete_view, name="team_delete"),
]
