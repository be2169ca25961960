"""Company admins: inbox settings, FAQ bot answers, the widget snippet."""

from django.urls import path

from conversations.views import faq, inboxes

app_name = "inboxes"

urlpatterns = [
    path("console/inboxes/", inboxes.inbox_list_view, name="list"),
    path("console/inboxes/new/", inboxes.inbox_create_view, name="create"),
    path("console/inboxes/<int:inbox_id>/", inboxes.inbox_edit_view, name="edit"),
    path("console/inboxes/<int:inbox_id>/faq/new/", inboxes.faq_create_view, name="faq_create"),
    path("console/inboxes/<int:inbox_id>/faq/", faq.faq_page_view, name="faq"),
    path("console/inboxes/<int:inbox_id>/faq/import/", faq.faq_import_view, name="faq_import"),
    path("console/inboxes/<int:inbox_id>/faq/export/", faq.faq_export_view, name="faq_export"),
    path(
        "console/inboxes/<int:inbox_id>/faq/<int:entry_id>/",
        inboxes.faq_edit_view,
        name="faq_edit",
    ),
    path(
        "console/inboxes/<int:inbox_id>/faq/<int:entry_id>/delete/",
        inboxes.faq_delete_view,
        name="faq_delete",
    ),
]
