"""Retention policy, legal holds, erasure and access requests (admin pages)."""


app_name = "retention"

urlpatterns: list = []
