"""schemathesis over the whole OpenAPI document (/api/schema/, the public candidate endpoints and
the staff ones) against a real daphne on loopback, on SQLite and on PostgreSQL, logged in as staff
(the schema is staff-only): no server error, every status, content type and body as the document
declares; what the document calls valid is not refused as invalid (positive cases) and what it
calls invalid is refused (negative cases), so the document is the server's own truth."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, reject, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import PositiveDataAcceptanceConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import Server, free_port
from .test_scale_out import postgres_database

pytestmark = pytest.mark.slow

PASSWORD = "staff-pass-schemathesis-1"
# Per operation and database: valid cases find refusals of documented input, invalid ones find
# constraints the document leaves out; both databases together stay within the suite's budget.
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 12}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    negative_data_rejection,
]
# What a valid request may still meet: no such id (404), no access (401/403), a state that does not
# allow it (409: exists, already done), an expired link (410), a rate limit (429). A 400 is not here.
VALID_REFUSALS = ["2xx", "3xx", "401", "403", "404", "409", "410", "429"]
# A body over the 64 KiB limit is refused before it is read (413, documented).
TOO_LARGE = "413"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def staff_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp(f"schemathesis-{request.param}")
    with ExitStack() as stack:
        sqlite = f"sqlite:///{tmp / 'api.sqlite3'}"
        database_url = stack.enter_context(postgres_database()) if request.param == "postgresql" else sqlite
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.e2e.schemathesis_settings",
            "DATABASE_URL": database_url,
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
    schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(expected_statuses=VALID_REFUSALS)
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, TOO_LARGE]
    return schema


def _vanishes(value: Any) -> bool:
    return isinstance(value, list) and all(_vanishes(item) for item in value)


def _vanishing_query(case: Any) -> bool:
    """A negative case whose invalid query value is a list with nothing in it (`until=[[]]`): it is
    sent as no parameter at all, so the server rightly sees a valid request (a false positive of
    schemathesis' negative_data_rejection, schemathesis/schemathesis#4690's family; it failed one
    run in five)."""
    return any(_vanishes(value) for value in (case.query or {}).values())


def test_every_operation(api: Any, staff_server: tuple[Server, dict[str, str]]) -> None:
    """Each operation of the document, with hypothesis-generated valid and invalid cases from its
    schema (schemathesis' pytest loader predates pytest 9's nodes, so the operations are driven here)."""
    server, headers = staff_server
    operations = [result.ok() for result in api.get_all_operations()]
    labels = {operation.label for operation in operations}
    for path in ("/api/interviews/access/", "/api/ai-interview/start/", "/api/ai-interview/run-interview/"):
        assert any(path in label for label in labels), labels
    calls = dict.fromkeys(EXAMPLES, 0)
    for operation in operations:
        for mode, examples in EXAMPLES.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def call(case: Any) -> None:
                if case.meta.generation.mode is GenerationMode.NEGATIVE and _vanishing_query(case):
                    reject()
                calls[case.meta.generation.mode] += 1
                case.call_and_validate(base_url=server.http, headers=headers, checks=CHECKS, timeout=60)

            try:
                call()
            except Unsatisfiable:
                # Nothing schemathesis can make invalid (no body, no query, a path text of any
                # length): GET /calibrations/, ...; a valid case is always possible.
                assert mode is GenerationMode.NEGATIVE, operation.label
    print(f"schemathesis: {len(operations)} operations, calls {calls}")
    assert calls[GenerationMode.POSITIVE] >= len(operations) * 10
    assert calls[GenerationMode.NEGATIVE] >= len(operations) * 5
