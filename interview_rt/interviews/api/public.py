"""The candidate's REST fallback: the seed's endpoints, served by the same services as the socket.

Async views, so waiting for a question or an evaluation holds no thread: they listen on the
session's group and re-read the database, the source of truth, after each frame or half second.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from channels.layers import get_channel_layer
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from interview_rt.runtime import answer_db, candidate_db, runtime

from .. import links, payloads, schemas, selectors, services
from ..constants import MAX_FRAME_BYTES, EvaluationStatus, FeedbackMode, Status
from ..errors import ErrorCode, InterviewError
from ..events import session_group
from ..models import AIInterviewResponse
from .errors import error_response

log = logging.getLogger(__name__)

MAX_BODY_BYTES = MAX_FRAME_BYTES
View = Callable[..., Any]  # an async view; Django types views as sync


def allow(*methods: str) -> Callable[[View], View]:
    """Like require_http_methods, but the 405 is JSON with a code, like every other error."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = error_response(InterviewError(ErrorCode.METHOD_NOT_ALLOWED, f"Use {' or '.join(methods)}."))
                response["Allow"] = ", ".join(methods)
                return response
            return await view(request, *args, **kwargs)

        return wrapper

    return decorate


def _body(request: HttpRequest) -> Any:
    try:
        raw = request.body
    except RequestDataTooBig:
        raw = b"x" * (MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise InterviewError(ErrorCode.FRAME_TOO_LARGE, "The request body is larger than 64 KiB.")
    return schemas.loads(raw or b"{}")


async def _wait_until(session_id: str, ready: Any, timeout: float) -> Any:
    """Re-check `ready()` (a sync DB read) whenever the session logs a frame, until it is truthy.
    With the channel layer down (Redis restarting) it polls the database instead."""
    value = await candidate_db(ready)()
    if value or timeout <= 0:
        return value
    layer = get_channel_layer()
    group = session_group(session_id)
    channel = None
    if layer is not None:
        try:
            channel = await layer.new_channel()
            await layer.group_add(group, channel)
        except Exception:
            log.warning("channel layer unavailable; polling session %s", session_id)
            channel = None
    deadline = time.monotonic() + timeout
    try:
        while not value and time.monotonic() < deadline:
            remaining = max(0.0, deadline - time.monotonic())
            if layer is not None and channel is not None:
                try:
                    async with asyncio.timeout(min(0.5, remaining)):
                        await layer.receive(channel)
                except TimeoutError:
                    pass
                except Exception:
                    channel = None  # the layer went down meanwhile: poll
            else:
                await asyncio.sleep(min(0.2, remaining))
            value = await candidate_db(ready)()
    finally:
        if layer is not None and channel is not None:
            try:
                await layer.group_discard(group, channel)
            except Exception:
                pass  # the membership expires with the group
    return value


def _session_view(session_id: str) -> dict[str, Any]:
    snapshot = selectors.session_snapshot(session_id=session_id)["session"]
    return {
        "feedback_mode": snapshot["feedback_mode"],
        "session_id": snapshot["id"],
        "status": snapshot["status"],
        "awaiting": snapshot["awaiting"],
        "progress": {"answered": snapshot["answered"], "total": snapshot["question_count"]},
        "question": snapshot["current_question"],
        "result": snapshot.get("result"),
        "answers": snapshot.get("answers"),
        "notice": snapshot.get("notice"),
    }


def _question_ready(session_id: str) -> Any:
    def check() -> dict[str, Any] | None:
        view = _session_view(session_id)
        return view if view["awaiting"] not in ("questions", "feedback") else None

    return check


async def _respond(handler: Any, request: HttpRequest) -> JsonResponse:
    try:
        return JsonResponse(await handler(_body(request)))
    except InterviewError as exc:
        return error_response(exc)


async def _start(body: schemas.StartRequest | schemas.RunInterviewRequest, session_id: str) -> dict[str, Any]:
    await candidate_db(services.session_start)(session_id=session_id)
    if body.notice_version is not None:
        await candidate_db(services.consent_accept)(session_id=session_id, notice_version=body.notice_version)
    view = await _wait_until(session_id, _question_ready(session_id), body.wait_seconds)
    view = view or await candidate_db(_session_view)(session_id)
    # The credential for the session's later actions: the session id alone is not one.
    return {**view, "session_key": links.session_key(session_id)}


@csrf_exempt
@allow("POST")
async def start_view(request: HttpRequest) -> JsonResponse:
    """POST /api/ai-interview/start/ {"token": ...} -> session id and first question."""

    async def handle(data: Any) -> dict[str, Any]:
        body = schemas.validate(schemas.StartRequest, data)
        opened = await candidate_db(services.session_open)(token=body.token)
        return await _start(body, str(opened.session.id))

    return await _respond(handle, request)


async def _action_response(body: schemas.RunInterviewRequest, session_id: str) -> dict[str, Any]:
    payload = body.data
    if payload is None:
        raise InterviewError(ErrorCode.INVALID_FIELD, "data is required for action response.", field="data")
    # REST clients rarely have an idempotency key; derive one from the question so a retried
    # POST after a lost reply is recognised as the same answer.
    client_id = payload.client_id or f"rest-{payload.question_id}"
    receipt = await answer_db(services.answer_submit)(
        session_id=session_id,
        client_id=client_id,
        question_id=payload.question_id,
        text=payload.response_text,
        response_type=payload.response_type or "text",
        claim_for=runtime.claimer(),
    )
    ack = next((f for f in receipt.frames if f["type"] == "answer.accepted"), None)

    def evaluated() -> AIInterviewResponse | None:
        return (
            AIInterviewResponse.objects.filter(pk=receipt.response_id)
            .exclude(evaluation_status=EvaluationStatus.PENDING)
            .first()
        )

    response = await _wait_until(session_id, evaluated, body.wait_seconds)
    view = await candidate_db(_session_view)(session_id)
    show_feedback = response is not None and view["feedback_mode"] == FeedbackMode.IMMEDIATE
    return {
        **view,
        "accepted": {**ack, "duplicate": True} if ack and receipt.duplicate else ack,
        "duplicate": receipt.duplicate,
        "evaluation": payloads.feedback_payload(response) if show_feedback else None,
        "evaluation_status": response.evaluation_status if response else EvaluationStatus.PENDING,
    }


async def _action_question(body: schemas.RunInterviewRequest, session_id: str) -> dict[str, Any]:
    await candidate_db(services.session_check)(session_id=session_id)
    view = await _wait_until(session_id, _question_ready(session_id), body.wait_seconds)
    return view or await candidate_db(_session_view)(session_id)


async def _action_complete(body: schemas.RunInterviewRequest, session_id: str) -> dict[str, Any]:
    await candidate_db(services.session_request_complete)(session_id=session_id)

    def done() -> dict[str, Any] | None:
        view = _session_view(session_id)
        return view if view["status"] == Status.COMPLETED else None

    view = await _wait_until(session_id, done, body.wait_seconds)
    return view or await candidate_db(_session_view)(session_id)


ACTIONS = {
    "start": _start,
    "question": _action_question,
    "response": _action_response,
    "complete": _action_complete,
}


@csrf_exempt
@allow("POST")
async def run_interview_view(request: HttpRequest) -> JsonResponse:
    """POST /api/ai-interview/run-interview/ {"action", "session_id", "data"}."""

    async def handle(data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise InterviewError(ErrorCode.INVALID_JSON, "The body must be a JSON object.")
        action = data.get("action")
        if not isinstance(action, str) or action not in ACTIONS:
            raise InterviewError(
                ErrorCode.UNKNOWN_ACTION, f"action must be one of {', '.join(ACTIONS)}.", field="action"
            )
        # The envelope first: an unknown session is 404 whatever `data` holds.
        envelope = schemas.validate(schemas.RunInterviewRequest, {**data, "data": None})
        if await candidate_db(selectors.session_get)(session_id=envelope.session_id) is None:
            raise InterviewError(ErrorCode.SESSION_NOT_FOUND, "No such interview session.")
        await candidate_db(services.session_authorize)(
            session_id=envelope.session_id, session_key=envelope.session_key, token=envelope.token
        )
        body = schemas.validate(schemas.RunInterviewRequest, data)
        return await ACTIONS[body.action](body, body.session_id)

    return await _respond(handle, request)


@csrf_exempt  # GET only: a POST gets the JSON 405, not an HTML CSRF page
@allow("GET")
async def access_view(request: HttpRequest, token: str) -> JsonResponse:
    """GET /api/interviews/access/<token>/: opening a link creates (once) and returns the session."""
    try:
        session = (await candidate_db(services.session_open)(token=token)).session
    except InterviewError as exc:
        return error_response(exc)

    def info() -> dict[str, Any]:
        s = selectors.session_snapshot(session_id=session.id)["session"]
        return {
            "session_id": s["id"],
            "session_key": links.session_key(s["id"]),
            "status": s["status"],
            "interview": {
                "job_title": s["job_title"],
                "candidate_name": s["candidate_name"],
                "interview_type": s["interview_type"],
                "difficulty": s["difficulty"],
                "question_count": s["question_count"],
                "feedback_mode": s["feedback_mode"],
                "expires_at": s["expires_at"],
            },
            "websocket_path": f"/ws/interview/{token}/",
            "notice": s.get("notice"),
        }

    return JsonResponse(await candidate_db(info)())
