"""The documented external model API (docs/ai-model-api.md), as the seed defined it.

    POST {endpoint}/generate-questions   {"context": {...}}          -> {"questions": [...]}
    POST {endpoint}/evaluate-response    {"question": ..., ...}      -> {"score": ..., "feedback": ...}
    Authorization: Bearer <AI_MODEL_API_KEY>

The bodies and answers are the models of `ai_service.schemas`; the builders and validators here
are pure functions over them, shared with the OpenAI-compatible provider (whose model answers
with the same JSON objects). Validation is strict: a wrong type, a missing required field, a
score outside 0..10 or an empty answer is `ProviderBadOutput`, naming the field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import ProviderBadOutput, ProviderError
from ..http import redact_url
from ..registry import QuestionSet
from ..schemas import (
    MAX_EXAMPLE_ANSWER,
    MAX_EXAMPLE_NOTE,
    MAX_GRADED_EXAMPLES,
    EvaluateRequest,
    EvaluateResponse,
    GenerateRequest,
    GenerateResponse,
    describe_errors,
    sendable_examples,
)
from ..types import (
    Evaluation,
    EvaluationRequest,
    GeneratedQuestion,
    GradedExample,
    InterviewContext,
    KeyPointMatch,
    Provenance,
)
from .networked import NetworkedProvider

API_VERSION = "seed-1"

M = TypeVar("M", bound=BaseModel)


# --- request builders --------------------------------------------------------------------------


def _body(model: type[BaseModel], data: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        return model.model_validate(data).model_dump()
    except ValidationError as exc:
        # A server would refuse it: say so without a round trip.
        raise ProviderError(
            f"the {where} does not fit the model API: {describe_errors(exc, where)}", kind="rejected"
        ) from None


def generate_request(context: InterviewContext) -> dict[str, Any]:
    """The body of `POST /generate-questions` (`schemas.GenerateRequest`)."""
    fields = {
        "candidate_name": context.candidate_name,
        "job_title": context.job_title,
        "interview_type": context.interview_type,
        "difficulty_level": context.difficulty,
        "question_count": context.question_count,
        "job_description": context.job_description,
        "skills": list(context.skills),
    }
    return _body(GenerateRequest, {"context": fields}, "request")


def evaluate_request(request: EvaluationRequest) -> dict[str, Any]:
    """The body of `POST /evaluate-response` (`schemas.EvaluateRequest`)."""
    fields = {
        "question": request.question,
        "response": request.response,
        "question_type": request.question_type,
        "difficulty": request.difficulty,
        "reference_answer": request.reference_answer,
        "key_points": list(request.key_points),
        "graded_examples": [
            {
                "id": example.key,
                "answer": example.answer[:MAX_EXAMPLE_ANSWER],
                "score": score,
                "note": example.note[:MAX_EXAMPLE_NOTE],
            }
            for example, score in sendable_examples(request.graded_examples, MAX_GRADED_EXAMPLES)
        ],
    }
    # The team's leniency (request.leniency) is not sent: it is fitted for the embedded grader.
    return _body(EvaluateRequest, fields, "request")


def calibration_details(request: EvaluationRequest, sent: Sequence[tuple[GradedExample, float]]) -> dict[str, object]:
    """`Provenance.details["calibration"]` of a networked grade: the graded examples given and sent.

    The keys follow the embedded grader's (grading/fewshot.py), so a stored grade whose
    `examples_version` differs from the current example set's can be found and re-graded. No
    leniency is applied by a networked provider: `leniency_version` is always "".
    """
    # Imported here: the grading package pulls numpy, which a networked-only process never needs
    # before its first evaluation.
    from ..grading.fewshot import examples_version

    return {
        "examples_version": examples_version(request.graded_examples),
        "examples_given": len(request.graded_examples),
        "examples_sent": len(sent),
        "examples": [{"id": example.key, "score": score} for example, score in sent],
        "leniency_version": "",
    }


# --- response validators -----------------------------------------------------------------------


def _validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProviderBadOutput(f"invalid model output: {describe_errors(exc, 'response')}") from None


def _texts(items: Sequence[str]) -> tuple[str, ...]:
    # Blank entries carry nothing: drop them rather than fail the answer.
    return tuple(item for item in items if item)


def parse_questions(data: Any, context: InterviewContext) -> list[GeneratedQuestion]:
    """Validate a `GenerateResponse`; exactly `context.question_count` questions.

    Extra questions are dropped unread; fewer, duplicates, or any invalid field is
    `ProviderBadOutput`. Questions without a difficulty get the requested one.
    """
    if isinstance(data, dict) and isinstance(data.get("questions"), list):
        data = {**data, "questions": data["questions"][: context.question_count]}
    body = _validate(GenerateResponse, data)
    if len(body.questions) < context.question_count:
        raise ProviderBadOutput(
            f"invalid model output: {len(body.questions)} questions returned, {context.question_count} requested"
        )
    return [
        GeneratedQuestion(
            text=q.text,
            question_type=q.question_type,
            competency=q.competency,
            difficulty=q.difficulty or context.difficulty,
            reference_answer=q.reference_answer,
            key_points=_texts(q.key_points),
        )
        for q in body.questions
    ]


def parse_evaluation(data: Any) -> Evaluation:
    """Validate an `EvaluateResponse`; the returned Evaluation carries a placeholder provenance."""
    body = _validate(EvaluateResponse, data)
    score = None if body.score is None else round(body.score, 2)
    insufficient = body.insufficient_evidence or score is None
    if insufficient:
        score = None  # the grader said it could not judge: a number would be meaningless
    return Evaluation(
        score=score,
        feedback=body.feedback,
        strengths=_texts(body.strengths),
        improvements=_texts(body.improvements),
        covered_key_points=tuple(KeyPointMatch(point=m.point, evidence=m.evidence) for m in body.covered_key_points),
        missed_key_points=_texts(body.missed_key_points),
        insufficient_evidence=insufficient,
        follow_up=body.follow_up,
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

    def _provenance(
        self, data: Any, latency_ms: float, attempts: int, calibration: dict[str, object] | None = None
    ) -> Provenance:
        name, version = model_identity(data, self.model_name, self.model_version)
        details: dict[str, object] = {"endpoint": redact_url(self.settings.endpoint), "attempts": attempts}
        if calibration is not None:
            details["calibration"] = calibration
        return Provenance(
            provider=self.name,
            model_name=name,
            model_version=version,
            rubric_version=API_VERSION,
            latency_ms=latency_ms,
            details=details,
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
        return dataclasses.replace(
            evaluation,
            follow_up=evaluation.follow_up if self.follow_ups_enabled else "",
            provenance=self._provenance(
                result.data,
                result.latency_ms,
                result.attempts,
                calibration_details(request, sendable_examples(request.graded_examples, MAX_GRADED_EXAMPLES)),
            ),
        )
