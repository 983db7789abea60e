"""The baseline of bench/load.py: a bare Channels JSON echo consumer, served by daphne.

    python -m daphne -b 127.0.0.1 -p 8100 bench.echo_asgi:application
    # ws://127.0.0.1:8100/ws/echo/   every JSON text frame comes back unchanged

Same stack as the interview server (daphne -> channels ProtocolTypeRouter/URLRouter ->
AsyncJsonWebsocketConsumer, in-memory channel layer) minus everything the interview does: no
database, no token, no log, no AI. Its round-trip rate and latency on this machine, measured in the
same run, are what the interview figures are divided by.
"""

from __future__ import annotations

from typing import Any

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}},
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
django.setup()

from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class EchoConsumer(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json(content)


application = ProtocolTypeRouter({"websocket": URLRouter([path("ws/echo/", EchoConsumer.as_asgi())])})
