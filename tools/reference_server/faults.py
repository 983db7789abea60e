"""The server's switches and the faults it injects on purpose into the API routes.

A fault is taken per API request (`Faults.take`): `--fault-count N` limits it to the next N
requests. Some faults answer before any grading (`early_answer`: 5xx, 429, garbage, hang); the
others alter a real answer (`empty`, `wrong-schema`, `out-of-range`, applied by the routes with
the shapes below); `latency` only delays (`delay_ms`, with `--latency-ms` or its default).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from starlette.responses import Response

from .responses import BadRequest, NoAnswer, error_response, raw_response

FAULTS = ("none", "latency", "5xx", "429", "garbage", "wrong-schema", "hang", "out-of-range", "empty")
DEFAULT_FAULT_LATENCY_MS = 2000

GARBAGE = b'{"questions": [ <html>this is not JSON'
# What out-of-range puts into an evaluation: a score no client may accept.
OUT_OF_RANGE = {"score": 42, "insufficient_evidence": False}
# What wrong-schema puts into a chat completion's content: valid JSON, not the asked-for shape.
WRONG_SCHEMA_CHAT = {"answer": "Looks good to me.", "confidence": "high"}


def wrong_schema_questions(questions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": [{"question": q["text"]} for q in questions]}


def wrong_schema_evaluation(feedback: str) -> dict[str, Any]:
    return {"grade": "B", "comment": feedback}


@dataclass
class ServerConfig:
    fault: str = "none"
    latency_ms: int = 0
    # Apply the fault to this many API requests, then answer normally (None: to every request).
    fault_count: int | None = None
    api_key: str = ""
    # False: reject `response_format: json_schema` with 400, like servers that lack it.
    json_schema: bool = True
    access_log: bool = False

    def public(self) -> dict[str, Any]:
        """The switches as `/_control` reports them (without the key)."""
        shown = asdict(self)
        shown.pop("api_key")
        return shown


class Faults:
    """The fault of each API request, counted down when `fault_count` is set."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._left = config.fault_count

    def take(self) -> str:
        """The fault to apply to this request ("none" once `fault_count` are spent)."""
        fault = self.config.fault
        if fault == "none":
            return fault
        if self._left is not None:
            if self._left <= 0:
                return "none"
            self._left -= 1
        return fault

    def delay_ms(self, fault: str) -> int:
        return self.config.latency_ms or (DEFAULT_FAULT_LATENCY_MS if fault == "latency" else 0)

    def control(self, body: dict[str, Any]) -> None:
        """Apply the switches of a `/_control` body (BadRequest, TypeError or ValueError if invalid)."""
        config = self.config
        if "fault" in body:
            if body["fault"] not in FAULTS:
                raise BadRequest(f"fault must be one of {', '.join(FAULTS)}")
            config.fault = body["fault"]
            self._left = config.fault_count
        if "latency_ms" in body:
            config.latency_ms = int(body["latency_ms"])
        if "fault_count" in body:
            config.fault_count = None if body["fault_count"] is None else int(body["fault_count"])
            self._left = config.fault_count
        if "json_schema" in body:
            config.json_schema = bool(body["json_schema"])


def early_answer(fault: str) -> Response | None:
    """The answer of a fault that answers before (instead of) grading; None for the others."""
    if fault == "hang":
        return NoAnswer()
    if fault == "5xx":
        return error_response(503, "injected fault: service unavailable", "unavailable")
    if fault == "429":
        return error_response(429, "injected fault: rate limited", "rate_limited", {"Retry-After": "1"})
    if fault == "garbage":
        return raw_response(GARBAGE)
    return None
