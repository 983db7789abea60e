"""What both sockets share on top of channels' JSON consumer."""

from __future__ import annotations

from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer


class Consumer(AsyncJsonWebsocketConsumer):
    async def dispatch(self, message: dict[str, Any]) -> None:
        # channels (4.2+) runs `close_old_connections` in asgiref's thread before every handler,
        # for consumers that query the ORM on that thread. Ours never do: every database call goes
        # through a runtime lane, which closes connections around each call. The hop cost a
        # thread round trip per frame and message, 9 % of the server's loop in bench/load.py with
        # 100 candidates and 5 admins.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
