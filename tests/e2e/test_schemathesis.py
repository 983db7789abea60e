"""schemathesis over the whole OpenAPI document (/api/schema/, the public candidate endpoints and
the staff ones) against a real daphne on loopback, logged in as staff (the schema is staff-only):
no server error, every status, content type and body as the document declares."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import Server, free_port

pytestmark = pytest.mark.slow

PASSWORD = "staff-pass-schemathesis-1"
EXAMPLES = 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def staff_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "interview_rt.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp / 'api.sqlite3'}",
        "E2E_DIR": str(tmp),
        "DEBUG": "0",
        "LOG_LEVEL": "ERROR",
        "RATE_LIMITS_ENABLED": "0",
        "AI_EMBEDDED_GRADER": "lexical",
        "AI_WARM_UP": "0",
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
    }
    env.pop("REDIS_URL", None)
    server = Server(env, free_port())
    server.manage("migrate", "--verbosity", "0")
    server.manage("createsuperuser", "--noinput", "--username", "staff", "--email", "staff@example.com")
    server.start()
    try:
        yield server, login(server)
    finally:
        server.stop()


def login(server: Server) -> dict[str, str]:
    """A staff session cookie and its CSRF token (one password check, not one per request)."""
    with httpx.Client(base_url=server.http, timeout=30) as client:
        page = client.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        done = client.post(
            "/admin/login/",
            data={"username": "staff", "password": PASSWORD, "csrfmiddlewaretoken": token[1], "next": "/admin/"},
            headers={"Referer": f"{server.http}/admin/login/"},
        )
        assert done.status_code == 302, done.text[:500]
        cookies = {name: value for name, value in client.cookies.items()}
    return {
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        "X-CSRFToken": cookies["csrftoken"],
        "Referer": f"{server.http}/",
    }


@pytest.fixture(scope="module")
def api(staff_server: tuple[Server, dict[str, str]]) -> Any:
    server, headers = staff_server
    schema = schemathesis.openapi.from_url(f"{server.http}/api/schema/?format=json", headers=headers, timeout=30)
    schema.config.update(base_url=server.http, headers=headers)
    return schema


def test_every_operation(api: Any, staff_server: tuple[Server, dict[str, str]]) -> None:
    """Each operation of the document, with hypothesis-generated cases from its schema (schemathesis'
    pytest loader predates pytest 9's nodes, so the operations are driven here)."""
    server, headers = staff_server
    operations = [result.ok() for result in api.get_all_operations()]
    labels = {operation.label for operation in operations}
    for path in ("/api/interviews/access/", "/api/ai-interview/start/", "/api/ai-interview/run-interview/"):
        assert any(path in label for label in labels), labels
    calls = {"n": 0}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case: Any) -> None:
            calls["n"] += 1
            case.call_and_validate(base_url=server.http, headers=headers, checks=CHECKS, timeout=60)

        call()
    print(f"schemathesis: {len(operations)} operations, {calls['n']} calls")
    assert calls["n"] >= len(operations) * 10
