"""`python -m interview_rt.serve [daphne options] interview_rt.asgi:application`: daphne, with its
access log redacted. daphne writes that log itself, not through `logging`, one line per request
and per socket (`WSCONNECTING /ws/interview/<token>/`); a token is a credential valid for days.
Every daphne option works as with `daphne`; the Procfile runs this."""

from __future__ import annotations

import sys
from typing import Any

from daphne.access import AccessLogGenerator
from daphne.cli import CommandLineInterface
from daphne.server import Server

from interview_rt.redact import redact


class RedactingAccessLog(AccessLogGenerator):
    def write_entry(self, host: Any, date: Any, request: str, *args: Any, **kwargs: Any) -> None:
        super().write_entry(host, date, redact(request), *args, **kwargs)


class RedactingServer(Server):
    def __init__(self, *args: Any, action_logger: Any = None, **kwargs: Any) -> None:
        if isinstance(action_logger, AccessLogGenerator):
            action_logger = RedactingAccessLog(action_logger.stream)
        super().__init__(*args, action_logger=action_logger, **kwargs)


class RedactingCommandLine(CommandLineInterface):
    server_class = RedactingServer


def main(argv: list[str] | None = None) -> None:
    RedactingCommandLine().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
