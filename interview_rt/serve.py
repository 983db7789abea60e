"""`python -m interview_rt.serve`: the former name of `python -m interview_rt.server` (daphne with
a listen backlog, graceful shutdown and its access log redacted), kept for scripts that use it."""

from __future__ import annotations

from interview_rt.server import RedactingAccessLog, main

__all__ = ["RedactingAccessLog", "main"]

if __name__ == "__main__":
    main()
