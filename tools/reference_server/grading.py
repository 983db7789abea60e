"""What the server grades with, and how: the embedded provider (offline question bank and grader)
behind the wire models of `ai_service.schemas`, both for the model API's bodies and for the
payloads of `ai_service.prompts` inside chat messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from ai_service import prompts
from ai_service.providers.embedded import EmbeddedProvider
from ai_service.schemas import (
    EvaluateRequest,
    EvaluationOutput,
    EvaluationPrompt,
    GenerateRequest,
    KeyPointOutput,
    QuestionOutput,
    QuestionsPrompt,
    describe_errors,
)
from ai_service.types import Evaluation, EvaluationRequest, GeneratedQuestion, GradedExample, InterviewContext

from .responses import BadRequest

MODEL_NAME = "reference-embedded"

PromptPayload = TypeAdapter(Annotated[QuestionsPrompt | EvaluationPrompt, Field(discriminator="task")])


def validated(adapter: Callable[[Any], Any], data: Any, where: str) -> Any:
    """`adapter(data)`, or BadRequest naming every invalid field."""
    try:
        return adapter(data)
    except ValidationError as exc:
        raise BadRequest(describe_errors(exc, where)) from None


def context_from_seed_api(request: GenerateRequest) -> InterviewContext:
    context = request.context
    return InterviewContext(
        candidate_name=context.candidate_name,
        job_title=context.job_title,
        interview_type=context.interview_type,
        difficulty=context.difficulty_level,
        question_count=context.question_count,
        job_description=context.job_description,
        skills=tuple(context.skills),
        seed=f"{context.candidate_name}|{context.job_title}",
    )


def context_from_prompt(payload: QuestionsPrompt) -> InterviewContext:
    return InterviewContext(
        candidate_name="",
        job_title=payload.job_title,
        interview_type=payload.interview_type,
        difficulty=payload.difficulty,
        question_count=payload.question_count,
        job_description=payload.job_description,
        skills=tuple(payload.skills),
        seed=payload.job_title,
    )


def evaluation_request(body: EvaluateRequest | EvaluationPrompt) -> EvaluationRequest:
    """What the embedded provider grades. Graded examples are passed on, so the grade moves toward
    the scores of the reviewed answers nearest to the response (grading/fewshot.py)."""
    return EvaluationRequest(
        question=body.question,
        response=body.response,
        question_type=body.question_type,
        difficulty=body.difficulty,
        reference_answer=body.reference_answer,
        key_points=tuple(body.key_points),
        competency=getattr(body, "competency", ""),
        graded_examples=tuple(
            GradedExample(answer=e.answer, score=e.score, note=e.note, id=getattr(e, "id", ""))
            for e in body.graded_examples
        ),
    )


def prompt_payload(messages: list[Any]) -> dict[str, Any]:
    """The `ai_service.prompts` payload of the last user message that carries one."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
            try:
                return prompts.parse_prompt_payload(message["content"])
            except ValueError:
                continue
    raise BadRequest(f"no user message carries an {prompts.PAYLOAD_MARKER!r} payload from ai_service.prompts")


def question_json(q: GeneratedQuestion) -> dict[str, Any]:
    return QuestionOutput(
        text=q.text,
        question_type=q.question_type,
        competency=q.competency,
        difficulty=q.difficulty,
        reference_answer=q.reference_answer,
        key_points=list(q.key_points),
    ).model_dump()


def evaluation_json(evaluation: Evaluation, *, follow_up: bool) -> dict[str, Any]:
    proposal = ""
    if follow_up and evaluation.score is not None and evaluation.score < prompts.FOLLOW_UP_BELOW:
        if evaluation.missed_key_points:
            proposal = f"Could you expand on your answer? In particular: {evaluation.missed_key_points[0]}?"
        else:
            proposal = "Could you expand on your answer with a concrete example?"
    return EvaluationOutput(
        score=evaluation.score,
        feedback=evaluation.feedback,
        strengths=list(evaluation.strengths),
        improvements=list(evaluation.improvements),
        covered_key_points=[KeyPointOutput(point=m.point, evidence=m.evidence) for m in evaluation.covered_key_points],
        missed_key_points=list(evaluation.missed_key_points),
        insufficient_evidence=evaluation.insufficient_evidence,
        follow_up=proposal,
    ).model_dump()


class Grader:
    """The embedded provider, warmed up before the server says it listens."""

    def __init__(self) -> None:
        self.provider = EmbeddedProvider("reference", {"model_name": MODEL_NAME})

    @property
    def model_version(self) -> str:
        return str(getattr(self.provider, "model_version", ""))

    async def warm_up(self) -> None:
        await self.provider.warm_up()
        context = InterviewContext("warm-up", "Software Engineer", "mixed", "medium", 2)
        q = (await self.provider.generate_questions(context))[0]
        await self.provider.evaluate(
            EvaluationRequest(
                q.text, q.reference_answer, q.question_type, q.difficulty, q.reference_answer, q.key_points
            )
        )

    async def questions(self, context: InterviewContext) -> list[dict[str, Any]]:
        return [question_json(q) for q in await self.provider.generate_questions(context)]

    async def evaluate(self, request: EvaluationRequest) -> Evaluation:
        return await self.provider.evaluate(request)
