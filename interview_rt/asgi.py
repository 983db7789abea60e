"""ASGI entry point: HTTP (Django), candidate WebSockets, and the `ai-worker` channel."""

from __future__ import annotations

import os
import sys
from typing import Any
from urllib.parse import urlparse

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interview_rt.settings.local")
# The database thread gives up the GIL on every query; with the default 5 ms switch interval it
# can wait that long to get it back from the busy event loop, per query. 1 ms keeps a
# ten-query transaction from costing tens of milliseconds under load (measured in bench/load.py).
sys.setswitchinterval(float(os.environ.get("PY_SWITCH_INTERVAL", "0.001")))
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from consumers.routing import websocket_urlpatterns  # noqa: E402
from interview_rt import runtime  # noqa: E402


class TokenSocketOriginValidator(OriginValidator):
    """Candidate sockets authenticate with the signed token in the URL, not cookies, so a client
    without an Origin header (a script, a mobile app) is fine; a browser's Origin must still be
    one of ours, which keeps other sites from embedding the interview."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        return parsed_origin is None or super().valid_origin(parsed_origin)


def allowed_origins() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    frontend = urlparse(settings.FRONTEND_URL)
    if frontend.hostname:
        hosts.append(frontend.hostname)
    return hosts


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "lifespan": runtime.lifespan_app,
        "websocket": TokenSocketOriginValidator(URLRouter(websocket_urlpatterns), allowed_origins()),
    }
)

# The server runtime (database lanes, publish step, the in-process AI worker and the grading
# model's warm-up) starts with the server's loop, not on the first request or socket.
runtime.install()
