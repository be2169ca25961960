"""Sign-in, company switch, teams and members, the audit log.

The "accounts" namespace also holds console/ (home), console/rights/ and
console/teams/<id>/delete/: those pages read or write inbox rights, so they
live in conversations (conversations.console_urls.accounts_urlpatterns) and
chatbot_site/urls.py mounts both lists under this one namespace.
"""

from django.urls import path

from accounts import signin, views, views_account, views_people

app_name = "accounts"

urlpatterns = [
    # --- sign-in, own account, sessions, two-factor (issue 12) ---
    path("accounts/login/", signin.login, name="login"),
    path("accounts/login/code/", signin.login_code, name="login_code"),
    path("accounts/logout/", signin.logout, name="logout"),
    path("console/account/", views_account.account, name="account"),
    path(
        "console/account/preferences/",
        views_account.preferences_update,
        name="preferences_update",
    ),
    path("console/account/language/", views_account.language_switch, name="language_switch"),
    path("console/account/password/", views_account.password_change, name="password_change"),
    path(
        "console/account/sessions/end-others/",
        views_account.sessions_end_others,
        name="sessions_end_others",
    ),
    path("console/account/2fa/setup/", views_account.twofactor_setup, name="twofactor_setup"),
    path(
        "console/account/2fa/recovery-codes/",
        views_account.recovery_codes_regenerate,
        name="recovery_codes_regenerate",
    ),
    path("console/account/2fa/remove/", views_account.twofactor_remove, name="twofactor_remove"),
    path("console/security/", views_account.security, name="security"),
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
    # --- people and invitations (issue 12) ---
    path("console/people/", views_people.people_list, name="people"),
    path("console/people/<int:user_id>/", views_people.member_detail, name="people_member"),
    path("console/people/<int:user_id>/role/", views_people.member_role, name="people_role"),
    path("console/people/<int:user_id>/teams/", views_people.member_teams, name="people_teams"),
    path(
        "console/people/<int:user_id>/deactivate/",
        views_people.member_deactivate,
        name="people_deactivate",
    ),
    path(
        "console/people/<int:user_id>/reactivate/",
        views_people.member_reactivate,
        name="people_reactivate",
    ),
    path(
        "console/people/<int:user_id>/2fa-reset/",
        views_people.member_2fa_reset,
        name="people_2fa_reset",
    ),
    path(
        "console/people/invitations/<int:invitation_id>/resend/",
        views_people.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "console/people/invitations/<int:invitation_id>/revoke/",
        views_people.invitation_revoke,
        name="invitation_revoke",
    ),
    path(
        "accounts/invitation/<str:secret>/",
        views_people.invitation_accept,
        name="invitation_accept",
    ),
    path("console/audit/export.csv", views.audit_export, name="audit_export"),
]
