"""The documented external model API (docs/ai-model-api.md), as the seed defined it.

    POST {endpoint}/generate-questions   {"context": {...}}          -> {"questions": [...]}
    POST {endpoint}/evaluate-response    {"question": ..., ...}      -> {"score": ..., "feedback": ...}
    Authorization: Bearer <AI_MODEL_API_KEY>

Request builders and response validators are pure functions, shared with the OpenAI-compatible
provider (whose model answers with the same JSON objects). Validation is strict: a wrong type, a
missing required field, a score outside 0..10 or an empty answer is `ProviderBadOutput`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ProviderBadOutput
from ..http import (
    redact_url,
)
from ..registry import QuestionSet
from ..types import (
    Evaluation,
    EvaluationRequest,
    GeneratedQuestion,
    InterviewContext,
    KeyPointMatch,
    Provenance,
)
from .networked import NetworkedProvider

API_VERSION = "seed-1"
QUESTION_TYPES = ("technical", "behavioral")
DIFFICULTIES = ("easy", "medium", "hard")
INTERVIEW_TYPES = ("technical", "behavioral", "mixed")
MAX_TEXT = 4000  # characters per returned string field
MAX_ITEMS = 50  # entries per returned list

_STRING_LIST = {"type": "array", "items": {"type": "string"}, "maxItems": MAX_ITEMS}

# --- JSON Schemas of the wire format (also published in docs/ai-model-api.md) -------------------

GENERATE_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["context"],
    "properties": {
        "context": {
            "type": "object",
            "required": [
                "candidate_name",
                "job_title",
                "interview_type",
                "difficulty_level",
                "question_count",
                "job_description",
                "skills",
            ],
            "properties": {
                "candidate_name": {"type": "string"},
                "job_title": {"type": "string"},
                "interview_type": {"enum": list(INTERVIEW_TYPES)},
                "difficulty_level": {"enum": list(DIFFICULTIES)},
                "question_count": {"type": "integer", "minimum": 1, "maximum": MAX_ITEMS},
                "job_description": {"type": "string"},
                "skills": {"type": "array", "items": {"type": "string"}},
            },
        }
    },
}

QUESTION_ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["text", "question_type"],
    "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
        "question_type": {"enum": list(QUESTION_TYPES)},
        "difficulty": {"enum": list(DIFFICULTIES)},
        "competency": {"type": "string", "maxLength": MAX_TEXT},
        "reference_answer": {"type": "string", "maxLength": MAX_TEXT},
        "key_points": _STRING_LIST,
    },
}

GENERATE_RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["questions"],
    "properties": {
        "questions": {"type": "array", "minItems": 1, "items": QUESTION_ITEM_SCHEMA},
        "model_name": {"type": "string"},
        "model_version": {"type": "string"},
    },
}

EVALUATE_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["question", "response", "question_type", "difficulty", "reference_answer", "key_points"],
    "properties": {
        "question": {"type": "string"},
        "response": {"type": "string"},
        "question_type": {"enum": list(QUESTION_TYPES)},
        "difficulty": {"enum": list(DIFFICULTIES)},
        "reference_answer": {"type": "string"},
        "key_points": {"type": "array", "items": {"type": "string"}},
    },
}

EVALUATE_RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["score", "feedback"],
    "properties": {
        "score": {"type": ["number", "null"], "minimum": 0, "maximum": 10},
        "feedback": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
        "strengths": _STRING_LIST,
        "improvements": _STRING_LIST,
        "covered_key_points": {
            "type": "array",
            "maxItems": MAX_ITEMS,
            "items": {
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "required": ["point"],
                        "properties": {"point": {"type": "string"}, "evidence": {"type": "string"}},
                    },
                ]
            },
        },
        "missed_key_points": _STRING_LIST,
        "insufficient_evidence": {"type": "boolean"},
        "follow_up": {"type": "string", "maxLength": MAX_TEXT},
        "model_name": {"type": "string"},
        "model_version": {"type": "string"},
    },
}


# --- request builders --------------------------------------------------------------------------


def generate_request(context: InterviewContext) -> dict[str, Any]:
    """The body of `POST /generate-questions` (exactly the seed's context, plus description and skills)."""
    return {
        "context": {
            "candidate_name": context.candidate_name,
            "job_title": context.job_title,
            "interview_type": context.interview_type,
            "difficulty_level": context.difficulty,
            "question_count": context.question_count,
            "job_description": context.job_description,
            "skills": list(context.skills),
        }
    }


def evaluate_request(request: EvaluationRequest) -> dict[str, Any]:
    """The body of `POST /evaluate-response`."""
    return {
        "question": request.question,
        "response": request.response,
        "question_type": request.question_type,
        "difficulty": request.difficulty,
        "reference_answer": request.reference_answer,
        "key_points": list(request.key_points),
    }


# --- response validators -----------------------------------------------------------------------


def _bad(message: str) -> ProviderBadOutput:
    return ProviderBadOutput(f"invalid model output: {message}")


def _string(obj: Mapping[str, Any], key: str, where: str, *, required: bool = False, default: str = "") -> str:
    if key not in obj or obj[key] is None:
        if required:
            raise _bad(f"{where}.{key} is missing")
        return default
    value = obj[key]
    if not isinstance(value, str):
        raise _bad(f"{where}.{key} must be a string, not {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise _bad(f"{where}.{key} is empty")
    if len(value) > MAX_TEXT:
        raise _bad(f"{where}.{key} is longer than {MAX_TEXT} characters")
    return value


def _string_list(obj: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _bad(f"{where}.{key} must be a list of strings")
    if len(value) > MAX_ITEMS:
        raise _bad(f"{where}.{key} has more than {MAX_ITEMS} entries")
    items: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise _bad(f"{where}.{key}[{i}] must be a string")
        if len(item) > MAX_TEXT:
            raise _bad(f"{where}.{key}[{i}] is longer than {MAX_TEXT} characters")
        if item.strip():
            items.append(item.strip())
    return tuple(items)


def _choice(obj: Mapping[str, Any], key: str, where: str, choices: Sequence[str], default: str | None = None) -> str:
    value = obj.get(key)
    if value is None and default is not None:
        return default
    if value not in choices:
        raise _bad(f"{where}.{key} must be one of {', '.join(choices)}, not {value!r}")
    return str(value)


def _object(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise _bad(f"{where} must be a JSON object, not {type(data).__name__}")
    if not data:
        raise _bad(f"{where} is empty")
    return data


def parse_questions(data: Any, context: InterviewContext) -> list[GeneratedQuestion]:
    """Validate a `{"questions": [...]}` answer; exactly `context.question_count` questions.

    Extra questions are dropped; fewer, duplicates, or any invalid field is `ProviderBadOutput`.
    Questions without a difficulty get the requested one.
    """
    body = _object(data, "response")
    raw = body.get("questions")
    if not isinstance(raw, list):
        raise _bad("response.questions must be a list")
    if len(raw) < context.question_count:
        raise _bad(f"{len(raw)} questions returned, {context.question_count} requested")
    questions: list[GeneratedQuestion] = []
    seen: set[str] = set()
    for i, item in enumerate(raw[: context.question_count]):
        where = f"questions[{i}]"
        obj = _object(item, where)
        text = _string(obj, "text", where, required=True)
        normalised = " ".join(text.lower().split())
        if normalised in seen:
            raise _bad(f"{where}.text repeats an earlier question")
        seen.add(normalised)
        questions.append(
            GeneratedQuestion(
                text=text,
                question_type=_choice(obj, "question_type", where, QUESTION_TYPES),  # type: ignore[arg-type]
                competency=_string(obj, "competency", where),
                difficulty=_choice(obj, "difficulty", where, DIFFICULTIES, context.difficulty),  # type: ignore[arg-type]
                reference_answer=_string(obj, "reference_answer", where),
                key_points=_string_list(obj, "key_points", where),
            )
        )
    return questions


def _covered(obj: Mapping[str, Any]) -> tuple[KeyPointMatch, ...]:
    value = obj.get("covered_key_points")
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise _bad(f"response.covered_key_points must be a list of at most {MAX_ITEMS} entries")
    matches: list[KeyPointMatch] = []
    for i, item in enumerate(value):
        where = f"response.covered_key_points[{i}]"
        if isinstance(item, str):
            if item.strip():
                matches.append(KeyPointMatch(point=item.strip()))
        elif isinstance(item, dict):
            matches.append(
                KeyPointMatch(
                    point=_string(item, "point", where, required=True), evidence=_string(item, "evidence", where)
                )
            )
        else:
            raise _bad(f"{where} must be a string or an object with a 'point'")
    return tuple(matches)


def parse_score(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"response.score must be a number or null, not {type(value).__name__}")
    if not math.isfinite(value) or not 0 <= value <= 10:
        raise _bad(f"response.score {value!r} is outside 0..10")
    return round(float(value), 2)


def parse_evaluation(data: Any) -> Evaluation:
    """Validate an evaluation object; the returned Evaluation carries a placeholder provenance."""
    body = _object(data, "response")
    if "score" not in body:
        raise _bad("response.score is missing (use null for insufficient evidence)")
    score = parse_score(body["score"])
    insufficient = body.get("insufficient_evidence", False)
    if not isinstance(insufficient, bool):
        raise _bad("response.insufficient_evidence must be a boolean")
    if score is None:
        insufficient = True
    elif insufficient:
        score = None  # the grader said it could not judge: a number would be meaningless
    return Evaluation(
        score=score,
        feedback=_string(body, "feedback", "response", required=True),
        strengths=_string_list(body, "strengths", "response"),
        improvements=_string_list(body, "improvements", "response"),
        covered_key_points=_covered(body),
        missed_key_points=_string_list(body, "missed_key_points", "response"),
        insufficient_evidence=insufficient,
        follow_up=_string(body, "follow_up", "response"),
    )


def model_identity(data: Any, default_name: str, default_version: str) -> tuple[str, str]:
    """(model_name, model_version) the server reported, else the configured ones."""
    name, version = default_name, default_version
    if isinstance(data, dict):
        if isinstance(data.get("model_name"), str) and data["model_name"].strip():
            name = data["model_name"].strip()[:200]
        if isinstance(data.get("model_version"), str) and data["model_version"].strip():
            version = data["model_version"].strip()[:200]
    return name, version


# --- the provider ------------------------------------------------------------------------------


class HTTPModelProvider(NetworkedProvider):
    """A model server that speaks the documented API (see docs/ai-model-api.md).

    OPTIONS: `endpoint` (required, http/https base URL), `api_key`, `model_name`, `model_version`,
    `max_follow_ups` (0 drops the server's follow-up suggestions), the transport options of
    `ai_service.http.HTTPSettings`, and `transport`/`client` for tests.
    """

    name = "http_model"

    def _provenance(self, data: Any, latency_ms: float, attempts: int) -> Provenance:
        name, version = model_identity(data, self.model_name, self.model_version)
        return Provenance(
            provider=self.name,
            model_name=name,
            model_version=version,
            rubric_version=API_VERSION,
            latency_ms=latency_ms,
            details={"endpoint": redact_url(self.settings.endpoint), "attempts": attempts},
        )

    async def generate_questions(self, context: InterviewContext) -> Sequence[GeneratedQuestion]:
        self._check_usable()
        result = await self.http.post_json("generate-questions", generate_request(context))
        questions = parse_questions(result.data, context)
        return QuestionSet(questions, self._provenance(result.data, result.latency_ms, result.attempts))

    async def evaluate(self, request: EvaluationRequest) -> Evaluation:
        self._check_usable()
        result = await self.http.post_json("evaluate-response", evaluate_request(request))
        evaluation = parse_evaluation(result.data)
        follow_up = evaluation.follow_up if self.follow_ups_enabled else ""
        return Evaluation(
            score=evaluation.score,
            feedback=evaluation.feedback,
            strengths=evaluation.strengths,
            improvements=evaluation.improvements,
            covered_key_points=evaluation.covered_key_points,
            missed_key_points=evaluation.missed_key_points,
            insufficient_evidence=evaluation.insufficient_evidence,
            follow_up=follow_up,
            provenance=self._provenance(result.data, result.latency_ms, result.attempts),
        )
