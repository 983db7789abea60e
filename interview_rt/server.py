"""Serve the project with daphne, as deployed (Procfile, `make run`, the benchmarks, e2e tests):

    python -m interview_rt.server -b 0.0.0.0 -p 8000 --proxy-headers

It is daphne (`daphne.server.Server`, the same protocol code and options) plus what a host needs:

- a listen backlog of `--backlog` (default 1024; daphne's CLI has no such flag and Twisted's
  default is 50, which a burst of connecting candidates overflows: the kernel drops the SYNs and
  clients retry after a second or more);
- graceful shutdown on SIGTERM/SIGINT: stop accepting (the listening sockets close, so a load
  balancer sends new candidates elsewhere), close every candidate socket with 1012 ("service
  restart": the client reconnects with `?last_seq=`, to any server), then let the runtime
  finish or release the AI work in hand and flush its outbox (`Runtime.shutdown`), and only then
  cancel what is left; bounded by SHUTDOWN_TIMEOUT_SECONDS (25 s), so the process exits within
  an orchestrator's usual 30 s.

- daphne's access log (one line per request and per socket, `WSCONNECTING /ws/interview/<token>/`)
  with credentials redacted (`interview_rt.redact`): a token is valid for days. As with daphne, it
  goes to stdout when verbosity is 1 or more (or to `--access-log FILE`); `-v 0` turns it off.

- a socket frame over daphne's message limit (1 MiB), which autobahn does not read at all, is
  answered with a `frame_too_large` error frame and a close with 1009 ("message too big") on both
  sockets; autobahn's default drops the TCP connection instead (the client sees 1006). Frames over
  64 KiB and up to that limit reach the consumers, which refuse them with the same error and keep
  the socket open.

daphne's own close path cannot send 1012 (autobahn's `sendClose` accepts only 1000 and
3000-4999), so the close frame is written at the protocol level here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from typing import Any

import daphne.server  # first: installs Twisted's asyncio reactor  # isort: skip

from daphne.access import AccessLogGenerator
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import defer

from interview_rt.interviews.constants import MAX_FRAME_BYTES
from interview_rt.interviews.errors import ErrorCode
from interview_rt.redact import redact

log = logging.getLogger("interview_rt.server")

DEFAULT_APP = "interview_rt.asgi:application"
CLOSE_SERVICE_RESTART = 1012
# How long to wait for candidates to answer our close frames before moving on.
CLOSE_WAIT_SECONDS = 3.0


class RedactingAccessLog(AccessLogGenerator):
    """daphne's access log, without tokens or session keys."""

    def write_entry(self, host: Any, date: Any, request: str, *args: Any, **kwargs: Any) -> None:
        super().write_entry(host, date, redact(request), *args, **kwargs)


CLOSE_MESSAGE_TOO_BIG = 1009
TOO_LARGE_FRAME = json.dumps(
    {
        "type": "error",
        "code": str(ErrorCode.FRAME_TOO_LARGE),
        "message": f"Frames may be at most {MAX_FRAME_BYTES} bytes; this one was not read, and the socket closes.",
    }
).encode()


class BoundedWebSocketProtocol(WebSocketProtocol):
    """daphne's protocol, saying why before it closes a socket whose frame is over the limit."""

    def _max_message_size_exceeded(self, msg_size: int, max_msg_size: int, reason: str) -> None:
        if self.state == WebSocketProtocol.STATE_OPEN and not getattr(self, "failedByMe", False):
            self.sendMessage(TOO_LARGE_FRAME, isBinary=False)
            # The rest of the frame is skipped (autobahn reads nothing once failedByMe is set).
            self.failedByMe = True
            self.sendCloseFrame(code=CLOSE_MESSAGE_TOO_BIG, reasonUtf8=b"frame too large", isReply=False)
            return
        super()._max_message_size_exceeded(msg_size, max_msg_size, reason)


class GracefulServer(daphne.server.Server):
    """daphne's Server, shutting down in the order above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ports: list[Any] = []

    @property
    def ws_factory(self) -> Any:
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory: Any) -> None:
        # daphne's run() makes the factory: every socket it builds is a BoundedWebSocketProtocol.
        factory.protocol = BoundedWebSocketProtocol
        self._ws_factory = factory

    def run(self) -> None:
        from interview_rt.runtime import runtime

        runtime.shutdown_hooks[:] = [self.stop_accepting, self.close_websockets]
        super().run()

    def listen_success(self, port: Any) -> None:
        self.ports.append(port)
        super().listen_success(port)

    async def stop_accepting(self) -> None:
        ports, self.ports = self.ports, []
        for port in ports:
            result = port.stopListening()
            if isinstance(result, defer.Deferred):
                await result.asFuture(asyncio.get_running_loop())
        log.warning("stopped accepting connections (%d listening sockets closed)", len(ports))

    def _open_websockets(self) -> list[WebSocketProtocol]:
        return [
            p
            for p, details in self.connections.items()
            if isinstance(p, WebSocketProtocol) and "disconnected" not in details
        ]

    async def close_websockets(self) -> None:
        sockets = [p for p in self._open_websockets() if p.state == WebSocketProtocol.STATE_OPEN]
        for protocol in sockets:
            try:
                protocol.sendCloseFrame(code=CLOSE_SERVICE_RESTART, reasonUtf8=b"server restarting", isReply=False)
            except Exception:
                log.exception("could not close a socket with 1012")
        deadline = time.monotonic() + CLOSE_WAIT_SECONDS
        while self._open_websockets() and time.monotonic() < deadline:  # noqa: ASYNC110 - daphne has no event for it
            await asyncio.sleep(0.05)
        log.warning(
            "closed %d candidate sockets with %d (%d still open)",
            len(sockets),
            CLOSE_SERVICE_RESTART,
            len(self._open_websockets()),
        )

    def kill_all_applications(self) -> Any:
        """Twisted calls this before shutting down: run the graceful shutdown first, then cancel
        the application instances still running (daphne's own behaviour)."""
        from interview_rt.runtime import runtime

        async def graceful_then_kill() -> None:
            try:
                await runtime.shutdown()
            finally:
                pending = []
                for details in self.connections.values():
                    instance = details.get("application_instance")
                    if instance is not None and not instance.done():
                        instance.cancel()
                        pending.append(instance)
                if pending:
                    await asyncio.wait(pending, timeout=2)
                log.info("cancelled %d application instances; exiting", len(pending))

        loop = asyncio.get_event_loop()
        return defer.Deferred.fromFuture(loop.create_task(graceful_then_kill()))


def endpoint(host: str, port: int, backlog: int) -> str:
    host = host.strip("[]").replace(":", r"\:")
    return f"tcp:port={port}:interface={host}:backlog={backlog}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("application", nargs="?", default=DEFAULT_APP, help=f"ASGI app (default {DEFAULT_APP})")
    p.add_argument("-b", "--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("-p", "--port", type=int, default=int(os.environ.get("PORT", "8000")))
    p.add_argument("--backlog", type=int, default=int(os.environ.get("LISTEN_BACKLOG", "1024")))
    p.add_argument("-e", "--endpoint", action="append", default=[], help="extra Twisted endpoint strings")
    p.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-For/-Port/-Proto")
    p.add_argument("-v", "--verbosity", type=int, default=1)
    p.add_argument(
        "--access-log", default=None, help="file, or - for stdout (default: stdout unless -v 0); tokens redacted"
    )
    p.add_argument("--ping-interval", type=int, default=20)
    p.add_argument("--ping-timeout", type=int, default=30)
    p.add_argument("--websocket-connect-timeout", type=int, default=20)
    p.add_argument("--application-close-timeout", type=int, default=10)
    p.add_argument("--root-path", default="")
    return p.parse_args(argv)


def _quiet_autobahn() -> None:
    """autobahn formats its debug lines (with click colours, when click is installed) on every
    frame it sends, even with debug logging off; without click it formats plain text. py-spy
    showed click's styling among the hot leaves of a busy server."""
    import autobahn.util

    autobahn.util._HAS_CLICK = False


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    _quiet_autobahn()
    logging.basicConfig(
        level={0: logging.WARNING, 1: logging.INFO}.get(args.verbosity, logging.DEBUG),
        format="%(asctime)-15s %(levelname)-8s %(message)s",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interview_rt.settings.local")
    sys.path.insert(0, ".")
    from daphne.utils import import_by_path

    application = import_by_path(args.application)
    access = None
    if args.access_log:
        access = RedactingAccessLog(sys.stdout if args.access_log == "-" else open(args.access_log, "a", 1))  # noqa: SIM115
    elif args.verbosity >= 1:
        access = RedactingAccessLog(sys.stdout)
    endpoints = [endpoint(args.bind, args.port, args.backlog), *args.endpoint]
    log.info("Starting server at %s", ", ".join(endpoints))
    GracefulServer(
        application=application,
        endpoints=endpoints,
        ping_interval=args.ping_interval,
        ping_timeout=args.ping_timeout,
        websocket_connect_timeout=args.websocket_connect_timeout,
        websocket_handshake_timeout=args.websocket_connect_timeout,
        application_close_timeout=args.application_close_timeout,
        action_logger=access,
        root_path=args.root_path,
        verbosity=args.verbosity,
        proxy_forwarded_address_header="X-Forwarded-For" if args.proxy_headers else None,
        proxy_forwarded_port_header="X-Forwarded-Port" if args.proxy_headers else None,
        proxy_forwarded_proto_header="X-Forwarded-Proto" if args.proxy_headers else None,
    ).run()


if __name__ == "__main__":
    main()
