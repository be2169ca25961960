"""Sign-in, company switch, teams and members, the audit log.

The "accounts" namespace also holds console/ (home), console/rights/ and
console/teams/<id>/delete/: those pages read or write inbox rights, so they
live in conversations (conversations.console_urls.accounts_urlpatterns) and
chatbot_site/urls.py mounts both lists under this one namespace.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("console/switch/", views.switch_company, name="switch_company"),
    path("console/teams/", views.team_list, name="team_list"),
    path("console/teams/<int:team_id>/", views.team_detail, name="team_detail"),
    path("console/teams/<int:team_id>/members/", views.team_member_add, name="team_member_add"),
    path(
        "console/teams/<int:team_id>/members/<int:user_id>/remove/",
        views.team_member_remove,
        name="team_member_remove",
    ),
    path("console/audit/", views.audit, name="audit"),
    path("console/audit/export.csv", views.audit_export, name="audit_export"),
]
