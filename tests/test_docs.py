"""The docs and the server agree: generated sections are current, the code tables list exactly
the codes the server has, and the OpenAPI document covers the public endpoints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from interview_rt.interviews import docgen, schemas
from interview_rt.interviews.errors import CODES, ErrorCode

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("path", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_generated_sections_are_current(path: Path) -> None:
    text = path.read_text()
    assert docgen.render(text) == text, f"run: python -m interview_rt.interviews.docgen ({path.name} is stale)"


@pytest.mark.parametrize("name", sorted(docgen.SCHEMA_FILES))
def test_the_generated_schema_files_are_current_and_linked(name: str) -> None:
    path = docgen.schema_path(name)
    assert path.exists() and path.read_text() == docgen.SCHEMA_FILES[name](), (
        f"run: python -m interview_rt.interviews.docgen ({path.name} is stale)"
    )
    assert f"(schema/{name}.json)" in (DOCS / "protocol.md").read_text()


def _code_tables(text: str) -> list[set[str]]:
    """The backticked first cells of every markdown table whose header starts with `| code |`."""
    tables: list[set[str]] = []
    current: set[str] | None = None
    for line in text.splitlines():
        if line.startswith("| code |"):
            current = set()
            tables.append(current)
        elif current is not None and line.startswith("|"):
            match = re.match(r"\|\s*`([a-z_]+)`\s*\|", line)
            if match:
                current.add(match[1])
        else:
            current = None
    return tables


def test_protocol_code_table_is_exactly_the_error_codes() -> None:
    tables = _code_tables((DOCS / "protocol.md").read_text())
    assert tables, "docs/protocol.md has no table of error codes"
    assert set().union(*tables) == {str(code) for code in ErrorCode}


@pytest.mark.parametrize("path", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_no_doc_names_a_code_the_server_lacks(path: Path) -> None:
    for table in _code_tables(path.read_text()):
        assert table <= {str(code) for code in ErrorCode}, table - {str(code) for code in ErrorCode}


def test_every_code_has_a_status_and_a_meaning() -> None:
    assert set(CODES) == set(ErrorCode)
    for status, meaning in CODES.values():
        assert 400 <= status < 600 and meaning


def test_openapi_covers_the_public_endpoints_and_validates(db: object) -> None:
    document = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(document)
    for path in ("/api/interviews/access/{token}/", "/api/ai-interview/start/", "/api/ai-interview/run-interview/"):
        assert path in document["paths"]
    components = document["components"]["schemas"]
    for model in schemas.OPENAPI_MODELS:
        assert model.__name__ in components
    # The request body the server validates with is the one documented.
    assert components["RunInterviewRequest"]["properties"]["action"]["enum"] == [
        "start",
        "question",
        "response",
        "complete",
    ]


ROOT = Path(__file__).resolve().parents[1]


def _repo_paths(text: str) -> set[str]:
    """Backticked repository paths (a slash inside, not a URL path) and relative markdown links."""
    found = {m for m in re.findall(r"`([A-Za-z0-9_.][A-Za-z0-9_./-]*/[A-Za-z0-9_./-]*)`", text) if "//" not in m}
    found |= {m.split("#")[0] for m in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text)}
    return {p for p in found if p and not p.startswith(("http", "/", "../"))}


# Where a doc's relative paths start: the repository, the doc's folder, and for the architecture's
# layout table (which names interview_rt's parts) that package and its packages.
_BASES = {"docs/architecture.md": ("interview_rt", "interview_rt/interviews", "interview_rt/runtime")}


@pytest.mark.parametrize("doc", ["README.md", "bench/README.md", "docs/architecture.md"])
def test_the_paths_a_readme_names_exist(doc: str) -> None:
    bases = [ROOT, (ROOT / doc).parent, *(ROOT / b for b in _BASES.get(doc, ()))]
    named = _repo_paths((ROOT / doc).read_text())

    def exists(p: str) -> bool:
        # `pkg/module.name` names a module's function or class: its module must exist.
        candidates = [p, p.rsplit(".", 1)[0] + ".py"] if "." in p.rsplit("/", 1)[-1] else [p]
        return any((base / c).exists() for base in bases for c in candidates)

    missing = sorted(p for p in named if not exists(p))
    assert not missing, f"{doc} names paths that do not exist: {missing}"


def test_the_staff_actions_endpoint_answers_as_documented(db: object) -> None:
    from .trust_helpers import interview, staff_client

    document = SchemaGenerator().get_schema(request=None, public=True)
    operations = document["paths"]["/api/ai-interview/sessions/{session_id}/actions/"]
    assert "201" in operations["post"]["responses"] and "200" not in operations["post"]["responses"]
    listed = operations["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    if "$ref" in listed:
        listed = document["components"]["schemas"][listed["$ref"].rsplit("/", 1)[1]]
    assert listed["type"] == "array"
    session = interview([7.0, 7.0], answered=0)
    client, _ = staff_client("lead")
    url = f"/api/ai-interview/sessions/{session.pk}/actions/"
    posted = client.post(url, {"action": "message", "text": "Take your time."}, content_type="application/json")
    assert posted.status_code == 201, posted.content
    assert set(posted.json()) == {"id", "kind", "actor", "at", "detail"}
    got = client.get(url)
    assert got.status_code == 200 and isinstance(got.json(), list) and got.json()[0]["id"] == posted.json()["id"]
