"""Property-based fuzzing (hypothesis) of the candidate socket and the REST API, in process.

At least 5,000 generated socket frames and 2,000 REST bodies per run: well-formed frames with
hostile values, arbitrary JSON (unicode with lone surrogates and NUL, big and odd numbers), deep
nesting, NaN/Infinity, text that is no JSON, oversized and binary frames. Properties: the server
never answers `internal_error` or a 5xx, every reply matches the declared protocol, every /api/
error is JSON with a code, and the records stay consistent (one contiguous frame log per session,
one answer per question, each answer acknowledged once, no unstorable character stored).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interview_rt.asgi import application
from interview_rt.interviews import links, rows, services
from interview_rt.interviews.models import AIInterviewResponse, AIInterviewSession, SessionFrame
from interview_rt.interviews.schemas import ErrorBody, server_frame_adapter
from interview_rt.runtime import runtime

# Thousands of frames and bodies per test: on a busy 2-core machine (two suites at once) that is
# well over pytest-timeout's default 120 s.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("model_free_ai"),
    pytest.mark.timeout(900),
]

# Hypothesis discards examples whose data overruns its buffer, so it is asked for more than the
# promise and the count is checked afterwards.
# FUZZ_SCALE (make test-fast: 0.2) runs a share of the examples; make test runs them all.
_SCALE = min(1.0, max(0.05, float(os.environ.get("FUZZ_SCALE", "1"))))
MIN_FRAMES, MIN_BODIES = int(5_000 * _SCALE), int(2_000 * _SCALE)
SOCKET_EXAMPLES, FRAMES_PER_EXAMPLE = int(300 * _SCALE), 20
REST_EXAMPLES, BODIES_PER_EXAMPLE = int(260 * _SCALE), 10
QUESTION = "$QUESTION"  # replaced by the id of the question open when the frame is sent

# --- strategies ----------------------------------------------------------------------------------

# Any code point, lone surrogates and NUL included.
any_text = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=40)
odd_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just(10**400),
)
scalars = st.one_of(st.none(), st.booleans(), odd_numbers, any_text)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(any_text, inner, max_size=4)),
    max_leaves=12,
)
field_values = st.one_of(json_values, st.just(QUESTION), st.uuids().map(str))


def frame_of(frame_type: str, fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    if not fields:  # the type alone, or with fields of its own
        return st.dictionaries(any_text, json_values, max_size=3).map(lambda d: {**d, "type": frame_type})
    return st.fixed_dictionaries(
        {"type": st.just(frame_type)}, optional={name: field_values for name in fields}
    ) | st.dictionaries(st.sampled_from(fields), field_values, max_size=len(fields)).map(
        lambda d: {"type": frame_type, **d}
    )


good_answer = st.fixed_dictionaries(
    {
        "type": st.just("answer.submit"),
        "client_id": st.from_regex(r"[A-Za-z0-9_.:\-]{1,64}", fullmatch=True),
        "question_id": st.sampled_from([QUESTION, QUESTION, str(uuid.uuid4())]),
        "text": any_text,
    },
    optional={
        "response_type": st.sampled_from(["text", "code", "audio_transcript", "", "video"]),
        "submitted_at": odd_numbers,
    },
)
structured = st.one_of(
    good_answer,
    frame_of("answer.submit", ["client_id", "question_id", "text", "response_type", "submitted_at"]),
    frame_of("session.resume", ["last_seq"]),
    st.fixed_dictionaries({"type": st.just("session.resume"), "last_seq": st.integers(-5, 2**40)}),
    frame_of("session.sync", []),
    frame_of("ping", ["ref"]),
    st.dictionaries(any_text, json_values, max_size=4),
    json_values,
)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


raw_text = st.one_of(
    any_text,
    st.integers(1, 32_000).map(nested),
    st.sampled_from(
        ['{"type": "ping", "ref": NaN}', '{"type": "ping", "ref": Infinity}', '{"type": "ping", "ref": -Infinity}']
    ),
    st.sampled_from(['{"type": "ping", "ref": "\\ud800"}', '{"type": "answer.submit", "text": "\\u0000"}']),
    st.integers(64 * 1024 - 10, 64 * 1024 + 10).map(lambda n: '{"type":"ping","ref":"' + "x" * n + '"}'),
)


@dataclass(frozen=True)
class Raw:
    text: str | None = None
    data: bytes | None = None


frames = st.one_of(
    structured.map(lambda f: Raw(text=json.dumps(f))),
    raw_text.map(lambda t: Raw(text=t)),
    st.binary(max_size=64).map(lambda b: Raw(data=b)),
)

# --- the event loop the examples run on ------------------------------------------------------------


@dataclass
class Loop:
    loop: asyncio.AbstractEventLoop
    counts: dict[str, int] = field(default_factory=lambda: {"frames": 0, "bodies": 0})
    # What came back, by frame type / error code / HTTP status: shows the fuzz reached the
    # interview's states, not only the parser (printed with -s).
    seen: dict[str, int] = field(default_factory=dict)

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, 120))


@pytest.fixture
def loop(transactional_db: Any, request: pytest.FixtureRequest) -> Iterator[Loop]:
    """One loop for all of a test's examples, with the server runtime (and in-process worker).
    Afterwards: the run generated at least as many frames and bodies as promised."""
    event_loop = asyncio.new_event_loop()
    box = Loop(event_loop, seen=SEEN)
    SEEN.clear()
    box.run(runtime.start())
    try:
        yield box
    finally:
        box.run(runtime.stop(timeout=5))

        async def cancel_leftovers() -> None:
            leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in leftover:
                task.cancel()
            await asyncio.gather(*leftover, return_exceptions=True)

        event_loop.run_until_complete(cancel_leftovers())
        event_loop.run_until_complete(event_loop.shutdown_asyncgens())
        event_loop.close()
    print(request.node.name, box.counts, dict(sorted(box.seen.items())))
    if request.node.name == "test_socket_frames":
        assert box.counts["frames"] >= MIN_FRAMES, box.counts
    elif request.node.name == "test_rest_bodies":
        assert box.counts["bodies"] >= MIN_BODIES, box.counts


async def new_interview(question_count: int = 4) -> tuple[str, str]:
    def make() -> tuple[str, str]:
        invitation = services.invitation_create(
            candidate_name="Fuzz",
            candidate_email="f@example.com",
            job_title="Backend Engineer",
            skills=["python", "sql"],
            question_count=question_count,
        )
        return links.make_token(invitation), str(invitation.id)

    return await database_sync_to_async(make)()


def check_records(session_id: str) -> None:
    # Under the session lock, as every writer appends: the in-process worker may still be grading.
    with transaction.atomic():
        _check_records(rows.locked(session_id))


def _check_records(session: AIInterviewSession) -> None:
    seqs = list(SessionFrame.objects.filter(session=session).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, session.last_seq + 1))
    responses = list(AIInterviewResponse.objects.filter(session=session))
    assert session.answered_count == len(responses)
    assert len({r.question_id for r in responses}) == len(responses)
    accepted = SessionFrame.objects.filter(session=session, type="answer.accepted")
    assert sorted(f.payload["client_id"] for f in accepted) == sorted(r.client_id for r in responses)
    for r in responses:
        assert "\x00" not in r.response_text
        r.response_text.encode("utf-8")  # no lone surrogate


# --- the socket ----------------------------------------------------------------------------------


SEEN: dict[str, int] = {}


def saw(kind: str) -> None:
    SEEN[kind] = SEEN.get(kind, 0) + 1


async def socket_example(batch: list[Raw]) -> int:
    token, _ = await new_interview()
    comm = WebsocketCommunicator(application, f"/ws/interview/{token}/")
    connected, _ = await comm.connect(timeout=30)
    assert connected
    question: str | None = None
    session_id: str | None = None

    def track(frame: dict[str, Any]) -> None:
        nonlocal question, session_id
        server_frame_adapter.validate_python(frame)
        saw(frame["code"] if frame["type"] == "error" else frame["type"])
        assert not (frame["type"] == "error" and frame["code"] == "internal_error"), frame
        if frame["type"] == "session.state":
            session_id = frame["session"]["id"]
            current = frame["session"]["current_question"]
            question = current["id"] if current else question
        elif frame["type"] == "question.asked":
            question = frame["question"]["id"]

    track(await comm.receive_json_from(timeout=30))
    for i, raw in enumerate(batch):
        # send_input, not send_to: an empty frame is a frame too.
        if raw.data is not None:
            await comm.send_input({"type": "websocket.receive", "bytes": raw.data})
        else:
            assert raw.text is not None
            text = raw.text.replace(QUESTION, question or str(uuid.uuid4()))
            await comm.send_input({"type": "websocket.receive", "text": text})
        # A ping with a fresh ref closes each frame's replies; everything before it is checked.
        ref = f"fence-{i}"
        await comm.send_to(text_data=json.dumps({"type": "ping", "ref": ref}))
        while True:
            reply = await comm.receive_json_from(timeout=30)
            track(reply)
            if reply == {"type": "pong", "ref": ref}:
                break
    await comm.disconnect()
    assert session_id is not None
    await database_sync_to_async(check_records)(session_id)
    return len(batch)


@settings(
    max_examples=SOCKET_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=st.lists(frames, min_size=FRAMES_PER_EXAMPLE, max_size=FRAMES_PER_EXAMPLE))
def test_socket_frames(loop: Loop, batch: list[Raw]) -> None:
    loop.counts["frames"] += loop.run(socket_example(batch))


# --- REST ----------------------------------------------------------------------------------------

# Valid waits are short (a valid 30 would make an example wait 30 s for a grade); the rest are
# every kind of invalid value.
wait = st.one_of(
    st.just(0),
    st.floats(0, 0.05),
    json_values.filter(lambda v: isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 30),
    st.just(10**400),
    st.integers(31, 10**6),
)


def mostly(value: str) -> st.SearchStrategy[Any]:
    """The right value most of the time, anything else otherwise: gets past the envelope checks."""
    return st.one_of(st.just(value), st.just(value), st.just(value), json_values)


run_body = st.fixed_dictionaries(
    {
        "action": st.one_of(st.sampled_from(["start", "question", "response", "response", "complete"]), json_values),
        "session_id": mostly("$SESSION"),
        "session_key": mostly("$KEY"),
    },
    optional={
        "token": mostly("$TOKEN"),
        "data": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {"question_id": mostly(QUESTION), "response_text": any_text},
                optional={
                    "response_type": st.one_of(st.sampled_from(["text", "code", ""]), json_values),
                    "client_id": st.one_of(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True), json_values),
                },
            ),
        ),
        "wait_seconds": wait,
    },
)
start_body = st.fixed_dictionaries(
    {}, optional={"token": st.one_of(st.just("$TOKEN"), json_values), "wait_seconds": wait}
)
review_body = st.fixed_dictionaries(
    {},
    optional={
        "human_score": json_values,
        "notes": any_text,
        "final_decision": st.one_of(st.sampled_from(["hire", "no_hire", "maybe"]), json_values),
    },
)
requests = st.one_of(
    st.tuples(st.just("POST"), st.just("/api/ai-interview/run-interview/"), run_body.map(json.dumps)),
    st.tuples(st.just("POST"), st.just("/api/ai-interview/start/"), start_body.map(json.dumps)),
    st.tuples(st.just("POST"), st.just("/api/ai-interview/run-interview/"), raw_text),
    st.tuples(
        st.just("STAFF-POST"), st.just("/api/ai-interview/results/$SESSION/review/"), review_body.map(json.dumps)
    ),
    st.tuples(st.just("STAFF-POST"), st.just("/api/ai-interview/results/$SESSION/review/"), raw_text),
    st.tuples(st.just("STAFF-POST"), st.just("/api/ai-interview/invitations/"), json_values.map(json.dumps)),
    st.tuples(st.just("STAFF-GET"), st.just("/api/ai-interview/sessions/"), any_text),
    st.tuples(st.just("GET"), st.just("/api/interviews/access/"), any_text),
    st.tuples(
        st.sampled_from(["GET", "PUT", "DELETE", "PATCH"]),
        st.sampled_from(["/api/", "/api/x/", "/api/ai-interview/start/"]),
        any_text,
    ),
)


def _ascii_path(text: str) -> str:
    from urllib.parse import quote

    return quote(text.encode("utf-8", "surrogatepass"), safe="")


async def rest_example(batch: list[tuple[str, str, str]], staff: AsyncClient) -> int:
    token, _ = await new_interview(question_count=2)
    client = AsyncClient()
    started = await client.post(
        "/api/ai-interview/start/", {"token": token, "wait_seconds": 5}, content_type="application/json"
    )
    assert started.status_code == 200, started.content
    session_id, key = started.json()["session_id"], started.json()["session_key"]
    question = (started.json().get("question") or {}).get("id") or str(uuid.uuid4())
    for method, path, body in batch:
        body = body.replace("$SESSION", session_id).replace("$KEY", key).replace("$TOKEN", token)
        body = body.replace(QUESTION, question)
        path = path.replace("$SESSION", session_id)
        raw = body.encode("utf-8", "surrogatepass")
        if method == "POST":
            response = await client.post(path, raw, content_type="application/json")
        elif method == "STAFF-POST":
            response = await staff.post(path, raw, content_type="application/json")
        elif method == "STAFF-GET":
            response = await staff.get(f"{path}?status={_ascii_path(body)}")
        elif method == "GET":
            response = await client.get(path + _ascii_path(body) + "/")
        else:
            response = await client.generic(method, path, raw, content_type="application/json")
        assert response.status_code < 500, (method, path, body[:200], response.content[:300])
        assert response["Content-Type"].startswith("application/json"), (method, path, response.content[:200])
        data = response.json()
        saw(f"{response.status_code} {data.get('code', '') if isinstance(data, dict) else ''}")
        if response.status_code >= 400:
            ErrorBody.model_validate({k: v for k, v in data.items() if k != "errors"})
    await database_sync_to_async(check_records)(session_id)
    return len(batch)


@pytest.fixture
def staff_user(transactional_db: Any) -> Any:
    return get_user_model().objects.create_superuser("fuzz-staff", "s@example.com", "pw")


@settings(
    max_examples=REST_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=st.lists(requests, min_size=BODIES_PER_EXAMPLE, max_size=BODIES_PER_EXAMPLE))
def test_rest_bodies(loop: Loop, staff_user: Any, batch: list[tuple[str, str, str]]) -> None:
    async def run() -> int:
        staff = AsyncClient()
        await staff.aforce_login(staff_user)
        return await rest_example(batch, staff)

    loop.counts["bodies"] += loop.run(run())
