"""Retention policy, legal holds, erasure, access and data-subject requests (admin pages)."""

from django.urls import path

from retention import views

app_name = "retention"

urlpatterns = [
    path("console/retention/", views.policy, name="policy"),
    path("console/retention/run/", views.run_now, name="run_now"),
    path("console/retention/holds/", views.hold_place, name="hold_place"),
    path("console/retention/holds/<int:hold_id>/lift/", views.hold_lift, name="hold_lift"),
    path("console/erasure/", views.erasure_list, name="erasure_list"),
    path("console/erasure/new/", views.erasure_create, name="erasure_create"),
    path(
        "console/erasure/conversation/<int:conversation_id>/",
        views.erasure_start,
        name="erasure_start",
    ),
    path("console/erasure/<int:request_id>/", views.erasure_detail, name="erasure_detail"),
    path(
        "console/erasure/<int:request_id>/confirm/",
        views.erasure_confirm,
        name="erasure_confirm",
    ),
    path(
        "console/erasure/<int:request_id>/receipt.json",
        views.erasure_receipt,
        name="erasure_receipt",
    ),
    path("console/erasure/verify/", views.receipt_verify_page, name="receipt_verify"),
    path(
        "console/erasure/visitor/<int:visitor_id>/export/",
        views.visitor_export_page,
        name="visitor_export",
    ),
    path("console/requests/", views.subject_request_list, name="subject_request_list"),
    path("console/requests/new/", views.subject_request_new, name="subject_request_new"),
    path(
        "console/requests/<int:request_id>/",
        views.subject_request_detail,
        name="subject_request_detail",
    ),
    *[
        path(
            f"console/requests/<int:request_id>/{action}/",
            views.subject_request_act,
            {"action": action},
            name=f"subject_request_{action}",
        )
        for action in views.REQUEST_ACTION_FORMS
    ],
]
