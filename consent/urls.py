"""Privacy notices (admin pages), operators' contact requests, a published notice.

The "consent" namespace also holds privacy/<slug>/ (consent:transparency): that
page reads retention too, so it lives with the site (chatbot_site.transparency)
and chatbot_site/urls.py mounts it into this namespace.
"""

from django.urls import path

from consent import views

app_name = "consent"

urlpatterns = [
    path("console/notices/", views.notice_list, name="notice_list"),
    path("console/notices/new/", views.notice_create, name="notice_create"),
    path("console/notices/inboxes/", views.notice_inboxes, name="notice_inboxes"),
    path("console/notices/<int:version>/", views.notice_edit, name="notice_edit"),
    path("console/notices/<int:version>/preview/", views.notice_preview, name="notice_preview"),
    path("console/notices/<int:version>/publish/", views.notice_publish, name="notice_publish"),
    path(
        "console/notices/<int:version>/new-version/",
        views.notice_new_version,
        name="notice_new_version",
    ),
    path("console/notices/<int:version>/delete/", views.notice_delete, name="notice_delete"),
    path(
        "console/conversations/<int:conversation_id>/request-contact/",
        views.contact_request_view,
        name="request_contact",
    ),
    path(
        "privacy/<slug:slug>/notice/<int:version>/",
        views.transparency_notice,
        name="transparency_notice",
    ),
]
