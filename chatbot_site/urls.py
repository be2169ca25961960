"""URL map. Every app's urls.py holds its full paths:

- accounts:      /accounts/login/, /accounts/logout/, /console/ (home, company switch, teams)
- conversations: /chat/<key>/, /api/…, /demo/, /console/conversations/…
- consent:       /privacy/<slug>/, /console/notices/…
- retention:     /console/retention/…, /console/erasure/…
"""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="accounts:home", permanent=False)),
    path("", include("accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
]
