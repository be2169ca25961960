"""URL map. Every app's urls module holds its full paths:

- accounts (accounts/urls.py):                 /accounts/login/, /console/ (switch, teams, audit)
  + (conversations/console_urls.py, accounts_urlpatterns): /console/ (home), /console/rights/,
    /console/teams/<id>/delete/ (they touch inbox rights; same namespace, so the names stay)
- chat (conversations/urls.py):                /chat/<key>/, /demo/
- inboxes (conversations/inbox_urls.py):       /console/inboxes/…
- conversations (conversations/console_urls.py): /console/conversations/…
- consent (consent/urls.py):                   /console/notices/…, /privacy/<slug>/notice/<v>/
  + (chatbot_site/transparency.py): /privacy/<slug>/ (reads retention too; same namespace)
  + (chatbot_site/records.py): /console/record/ (reads retention too; same namespace)
- retention (retention/urls.py):               /console/retention/…, /console/erasure/…
- api (chatbot_site/api.py, routers per app):  /api/chat/<key>/…, /api/openapi.json
"""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.urls import urlpatterns as accounts_urlpatterns
from chatbot_site.api import api
from chatbot_site.records import consent_urlpatterns as record_urlpatterns
from chatbot_site.transparency import consent_urlpatterns as transparency_urlpatterns
from consent.urls import urlpatterns as consent_urlpatterns
from conversations.console_urls import accounts_urlpatterns as console_accounts_urlpatterns

urlpatterns = [
    # First: the visitor API serves every chat message, and Django tries the
    # patterns in order (behind the console's ~50 it cost each call 0.1 ms).
    path("api/", api.urls),
    path("", RedirectView.as_view(pattern_name="accounts:home", permanent=False)),
    path("", include((accounts_urlpatterns + console_accounts_urlpatterns, "accounts"))),
    path("", include("conversations.urls")),
    path("", include("conversations.inbox_urls")),
    path("", include("conversations.console_urls")),
    path(
        "",
        include((consent_urlpatterns + transparency_urlpatterns + record_urlpatterns, "consent")),
    ),
    path("", include("retention.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
]

# Styled, in the active language; console layout for staff (chatbot_site/errors.py).
handler403 = "chatbot_site.errors.handler403"
handler404 = "chatbot_site.errors.handler404"
handler500 = "chatbot_site.errors.handler500"
