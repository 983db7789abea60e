"""Sections of docs/ derived from the code: the error-code table and the JSON Schemas of the wire
formats. `python -m interview_rt.interviews.docgen` rewrites them in place; tests/test_docs.py
fails when a doc is out of date.

A generated section sits between `<!-- generated: NAME -->` and `<!-- end generated -->`.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from . import schemas
from .errors import CODES

DOCS = Path(__file__).resolve().parents[2] / "docs"
SECTION = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)


def error_codes() -> str:
    rows = ["| code | HTTP status | when |", "| --- | --- | --- |"]
    rows += [f"| `{code}` | {status} | {meaning} |" for code, (status, meaning) in CODES.items()]
    return "\n".join(rows) + "\n"


def _json_block(value: object) -> str:
    return "```json\n" + json.dumps(value, indent=1, sort_keys=True) + "\n```\n"


def client_frames_schema() -> str:
    return _json_block(schemas.client_frame_adapter.json_schema())


def server_frames_schema() -> str:
    return _json_block(schemas.server_frame_adapter.json_schema())


def staff_client_frames_schema() -> str:
    return _json_block(schemas.staff_client_frame_adapter.json_schema())


def staff_server_frames_schema() -> str:
    return _json_block(schemas.staff_server_frame_adapter.json_schema())


GENERATORS: dict[str, Callable[[], str]] = {
    "error-codes": error_codes,
    "client-frames-schema": client_frames_schema,
    "server-frames-schema": server_frames_schema,
    "staff-client-frames-schema": staff_client_frames_schema,
    "staff-server-frames-schema": staff_server_frames_schema,
}


def render(text: str) -> str:
    """`text` with every generated section rewritten."""

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in GENERATORS:
            raise KeyError(f"no generator for docs section {name!r}")
        return match.group(1) + GENERATORS[name]() + match.group(4)

    return SECTION.sub(replace, text)


def sections(text: str) -> list[str]:
    return [m["name"] for m in SECTION.finditer(text)]


def main() -> int:
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text()
        new = render(text)
        if new != text:
            path.write_text(new)
            print(f"updated {path.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
