"""The WSGI application; it refuses to start when the encryption keys do not fit the data."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")
application = get_wsgi_application()

from chatbot_site.checks import refuse_to_start_unless_keys_fit  # noqa: E402  (needs Django set up)

refuse_to_start_unless_keys_fit("web")
