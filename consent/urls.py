"""Privacy notices (admin pages) and the public transparency page."""


app_name = "consent"

urlpatterns: list = []
