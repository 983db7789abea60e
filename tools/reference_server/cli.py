"""The command line: the flags, and daphne serving the application until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import __doc__ as package_doc
from .app import ReferenceServer
from .faults import DEFAULT_FAULT_LATENCY_MS, FAULTS, ServerConfig

# Pending connections the kernel queues for us: load tests open hundreds at once.
LISTEN_BACKLOG = 2048


def build_parser() -> argparse.ArgumentParser:
    description = (package_doc or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m tools.reference_server", description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001, help="0 picks a free port (printed when ready)")
    parser.add_argument("--fault", choices=FAULTS, default="none", help="misbehave on purpose on the API routes")
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=0,
        help=f"delay every API answer (the latency fault defaults to {DEFAULT_FAULT_LATENCY_MS} ms)",
    )
    parser.add_argument("--fault-count", type=int, default=None, help="inject the fault this many times only")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("REFERENCE_SERVER_API_KEY", ""),
        help="require 'Authorization: Bearer KEY' (default: $REFERENCE_SERVER_API_KEY; none: no auth)",
    )
    parser.add_argument("--no-json-schema", action="store_true", help="reject response_format json_schema (400)")
    parser.add_argument("--access-log", action="store_true", help="log each request to stderr")
    return parser


def endpoint_description(host: str, port: int) -> str:
    """A twisted server endpoint string for daphne (`:` in an IPv6 host escaped)."""
    interface = host.replace(":", "\\:")
    return f"tcp:port={port}:interface={interface}:backlog={LISTEN_BACKLOG}"


def serve(server: ReferenceServer, host: str, port: int) -> int:
    """Serve `server.app` with daphne until SIGTERM/SIGINT; print `listening on URL` once warmed up."""
    # Imported here: importing daphne.server installs twisted's asyncio reactor, which only the
    # server process wants.
    from daphne.server import Server

    class CountingServer(Server):
        """daphne, telling the counters of each connection that carries a request."""

        def protocol_connected(self, protocol: Any) -> None:
            super().protocol_connected(protocol)
            server.connections.track(getattr(protocol, "channel", None))

    daphne = CountingServer(
        server.app, endpoints=[endpoint_description(host, port)], verbosity=0, server_name="ai-service-reference"
    )

    async def announce() -> None:
        try:
            await server.warm_up()
        except Exception as exc:
            print(f"warm-up failed: {exc!r}", file=sys.stderr, flush=True)
            daphne.stop()
            return
        bound = daphne.listening_addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        print(f"listening on http://{shown}:{bound}", flush=True)

    tasks: list[asyncio.Task[None]] = []

    def ready() -> None:  # called by daphne after listening, before the loop runs
        if daphne.listening_addresses:
            tasks.append(asyncio.get_event_loop().create_task(announce()))

    daphne.ready_callable = ready
    daphne.run()
    return 0 if daphne.listening_addresses else 1


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    config = ServerConfig(
        fault=args.fault,
        latency_ms=max(0, args.latency_ms),
        fault_count=args.fault_count,
        api_key=args.api_key,
        json_schema=not args.no_json_schema,
        access_log=args.access_log,
    )
    sys.exit(serve(ReferenceServer(config), args.host, args.port))
