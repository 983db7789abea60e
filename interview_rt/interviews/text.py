"""Text a client or a model sent, made storable. Pure (no Django).

JSON can carry what no database column can hold: a lone UTF-16 surrogate (`"\\ud800"`, e.g. half
of an emoji cut by a client) cannot be encoded as UTF-8 at all, and PostgreSQL refuses NUL in
text and jsonb (SQLite stores both). Rather than refuse an answer over an invisible character (a
retry could never succeed), text is stored cleaned, the same on every database and transport:
each lone surrogate becomes U+FFFD (the replacement character) and NUL is removed. A text never
grows by cleaning, so length limits checked before still hold.

Lone surrogates are replaced as soon as a frame or body is parsed (`schemas.loads`): nothing can
validate, store or even echo them. NUL is removed where text is stored (an answer, a model's
output); in an identifier (client_id, token) it is refused by that field's own check instead.
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")
_SURROGATES = re.compile("[\ud800-\udfff]")
# How a lone surrogate can reach us at all: a JSON escape (decoded UTF-8 text holds none).
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


# What str.strip() removes (every such character is in the BMP), as a regex class body. A JSON
# schema pattern says "not only whitespace" with it, since validators' `\s` differs (ECMA-262's
# has no U+001C-U+001F, which Python strips).
SPACES = "".join(f"\\u{code:04x}" for code in range(0x10000) if chr(code).isspace())


def _replace(match: re.Match[str]) -> str:
    return "" if match.group() == "\x00" else "\ufffd"


def clean(text: str, *, nul: bool = True) -> str:
    """`text` without lone surrogates (-> U+FFFD) and, unless `nul` is False, NUL (removed)."""
    pattern = _UNSTORABLE if nul else _SURROGATES
    return pattern.sub(_replace, text) if pattern.search(text) else text


def clean_json(value: Any, *, nul: bool = True) -> Any:
    """`clean` applied to every string (keys too) inside a JSON-like value."""
    if isinstance(value, str):
        return clean(value, nul=nul)
    if isinstance(value, dict):
        return {clean(str(k), nul=nul): clean_json(v, nul=nul) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v, nul=nul) for v in value]
    return value
