"""What of docs/ is derived from the code: the error-code table (a section of protocol.md) and the
JSON Schemas of the socket frames (files of their own in docs/schema/, linked from protocol.md).
`python -m interview_rt.interviews.docgen` rewrites both; tests/test_docs.py fails when either is
out of date.

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


def _json(value: object) -> str:
    return json.dumps(value, indent=1, sort_keys=True) + "\n"


# docs/schema/<name>.json: each socket's frames both ways, from the pydantic models the server
# validates with.
SCHEMA_FILES: dict[str, Callable[[], str]] = {
    "candidate-client-frames": lambda: _json(schemas.client_frame_adapter.json_schema()),
    "candidate-server-frames": lambda: _json(schemas.server_frame_adapter.json_schema()),
    "staff-client-frames": lambda: _json(schemas.staff_client_frame_adapter.json_schema()),
    "staff-server-frames": lambda: _json(schemas.staff_server_frame_adapter.json_schema()),
}


def schema_path(name: str) -> Path:
    return DOCS / "schema" / f"{name}.json"


GENERATORS: dict[str, Callable[[], str]] = {
    "error-codes": error_codes,
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
    for name, generate in SCHEMA_FILES.items():
        path = schema_path(name)
        body = generate()
        if not path.exists() or path.read_text() != body:
            path.parent.mkdir(exist_ok=True)
            path.write_text(body)
            print(f"updated {path.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
