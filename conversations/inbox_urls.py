"""Company admins: inbox settings, FAQ bot answers, the widget snippet."""


app_name = "inboxes"

urlpatterns: list = []
