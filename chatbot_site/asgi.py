"""The ASGI application: Django's pages and API over HTTP, the live sockets over WebSocket.

It refuses to start when the encryption keys do not fit the data.

WebSockets pass AllowedHostsOriginValidator: the browser's Origin must be one of
ALLOWED_HOSTS. The visitor chat is embedded in the company's site through an
iframe whose page is served from our origin, so its socket's Origin is ours, as
is the console's; a script on another site cannot open a socket with a signed-in
operator's cookies (cross-site WebSocket hijacking).
"""

import os
import warnings

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")
# Under ASGI Django runs each request's sync code in a thread of its own, so a
# persistent per-thread connection would stay behind in a dead thread and the
# server would run out of connections (seen: "too many clients" at 50 concurrent
# requests). The web process borrows connections from a pool instead (settings,
# HAFEN_DB_POOL; PostgreSQL only).
# Set only while the settings load: a test process that imports this module
# (settings long loaded) must not pass it on to the commands it starts.
_pool_by_default = "HAFEN_DB_POOL" not in os.environ
if _pool_by_default:
    os.environ["HAFEN_DB_POOL"] = "1"
django_application = get_asgi_application()  # sets Django up before the imports below
if _pool_by_default:
    del os.environ["HAFEN_DB_POOL"]

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from chatbot_site.checks import refuse_to_start_unless_keys_fit  # noqa: E402
from chatbot_site.routing import websocket_urlpatterns  # noqa: E402

refuse_to_start_unless_keys_fit("web")

# whitenoise serves static files with a synchronous file iterator; under ASGI
# Django reads it in a thread and warns once per file. Expected, not a fault.
warnings.filterwarnings(
    "ignore",
    message="StreamingHttpResponse must consume synchronous iterators",
    module="django.core.handlers.asgi",
)

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
