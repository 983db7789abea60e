"""The embedded provider: an offline question bank and a local grader. No network, no key.

Selection and grading are CPU work, so they run in a thread to keep the event loop free.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .. import feedback
from ..bank import BankQuestion, load_bank
from ..base import AIProvider
from ..errors import ProviderBadOutput
from ..grading import lexical
from ..grading.text import stems
from ..grading.types import GradeInput, GradeOutput
from ..types import Evaluation, EvaluationRequest, GeneratedQuestion, InterviewContext, Provenance

DIFFICULTY_ORDER = ("easy", "medium", "hard")

# Job words that point at an area of the bank even when no tag names them.
AREA_HINTS: dict[str, tuple[str, ...]] = {
    "backend": ("backend", "back-end", "api", "server", "django", "python", "java", "golang", "microservices"),
    "frontend": ("frontend", "front-end", "ui", "react", "javascript", "typescript", "css", "web"),
    "data": ("data", "etl", "sql", "warehouse", "analytics", "pipeline", "spark", "analyst"),
    "devops": ("devops", "sre", "infrastructure", "cloud", "kubernetes", "platform", "reliability"),
    "qa": ("qa", "quality", "test", "testing", "automation", "sdet"),
    "security": ("security", "appsec", "penetration", "secure"),
    "product": ("product", "pm", "roadmap", "owner"),
    "general": ("engineer", "developer", "software", "programmer"),
    "behavioral": (),
}


def _rank_questions(context: InterviewContext, pool: Sequence[BankQuestion]) -> list[BankQuestion]:
    job_stems = stems(" ".join((context.job_title, context.job_description, " ".join(context.skills))))
    skill_stems = stems(" ".join(context.skills))
    area_bonus: dict[str, float] = {}
    for area, hints in AREA_HINTS.items():
        hint_stems = {h for hint in hints for h in stems(hint)}
        area_bonus[area] = float(len(hint_stems & job_stems))
    rng = random.Random(context.seed or context.job_title)

    def fit(q: BankQuestion) -> float:
        tag_stems = {s for tag in q.tags for s in stems(tag)}
        return (
            3.0 * len(tag_stems & skill_stems)
            + 1.0 * len(tag_stems & job_stems)
            + 2.0 * area_bonus.get(q.area, 0.0)
            + 0.5 * (q.area == "general")
            + rng.random() * 0.5  # breaks ties differently per session
        )

    return sorted(pool, key=fit, reverse=True)


def select_questions(context: InterviewContext, bank: Sequence[BankQuestion]) -> list[BankQuestion]:
    """Pick `question_count` distinct questions that fit the job, type and difficulty.

    Prefers the asked difficulty, then its neighbours; spreads questions over competencies; for a
    mixed interview about a third are behavioral.
    """
    count = context.question_count
    if context.interview_type == "behavioral":
        wanted = {"behavioral": count}
    elif context.interview_type == "technical":
        wanted = {"technical": count}
    else:
        behavioral = max(1, round(count / 3)) if count > 1 else 0
        wanted = {"technical": count - behavioral, "behavioral": behavioral}
    chosen: list[BankQuestion] = []
    used: set[str] = set()
    for qtype, n in wanted.items():
        pool = [q for q in bank if q.type == qtype]
        target = DIFFICULTY_ORDER.index(context.difficulty)
        ranked = _rank_questions(context, pool)
        # Stable sort keeps fit order within each difficulty distance.
        ranked.sort(key=lambda q: abs(DIFFICULTY_ORDER.index(q.difficulty) - target))
        competencies: set[str] = set()
        picked: list[BankQuestion] = []
        for q in ranked:  # first pass: one per competency
            if len(picked) == n:
                break
            if q.id not in used and q.competency not in competencies and q.difficulty == context.difficulty:
                picked.append(q)
                used.add(q.id)
                competencies.add(q.competency)
        for q in ranked:  # then fill by fit
            if len(picked) == n:
                break
            if q.id not in used:
                picked.append(q)
                used.add(q.id)
        chosen.extend(picked)
    if len(chosen) < count:
        raise ProviderBadOutput(f"the bank holds only {len(chosen)} questions that fit", kind="bank_exhausted")
    # Interleave so a mixed interview does not put all behavioral questions last.
    rng = random.Random(hashlib.sha256(context.seed.encode()).hexdigest())
    head, tail = chosen[:1], chosen[1:]
    rng.shuffle(tail)
    return head + tail


class EmbeddedProvider(AIProvider):
    name = "embedded"
    rubric_version = "embedded-rubric-1"

    def __init__(self, alias: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(alias, options)
        self.model_name = str(self.options.get("model_name", "embedded"))
        self.model_version = str(self.options.get("model_version", lexical.VERSION))

    async def generate_questions(self, context: InterviewContext) -> Sequence[GeneratedQuestion]:
        picked = await asyncio.to_thread(select_questions, context, load_bank())
        return [
            GeneratedQuestion(
                text=q.text,
                question_type="behavioral" if q.type == "behavioral" else "technical",
                competency=q.competency,
                difficulty=q.difficulty,  # type: ignore[arg-type]
                reference_answer=q.reference_answer,
                key_points=q.key_points,
                source_id=q.id,
            )
            for q in picked
        ]

    def _grade(self, items: Sequence[GradeInput]) -> list[GradeOutput]:
        return [lexical.grade(item) for item in items]

    @property
    def grader_version(self) -> str:
        return lexical.VERSION

    async def evaluate(self, request: EvaluationRequest) -> Evaluation:
        return (await self.evaluate_many([request]))[0]

    async def evaluate_many(self, requests: Sequence[EvaluationRequest]) -> list[Evaluation]:
        started = time.perf_counter()
        items = [
            GradeInput(
                question=r.question, reference_answer=r.reference_answer, answer=r.response, key_points=r.key_points
            )
            for r in requests
        ]
        grades = await asyncio.to_thread(self._grade, items)
        latency = round((time.perf_counter() - started) * 1000, 3)
        return [self._to_evaluation(g, latency) for g in grades]

    def _to_evaluation(self, grade: GradeOutput, latency_ms: float) -> Evaluation:
        text, strengths, improvements = feedback.compose(grade)
        return Evaluation(
            score=grade.score,
            feedback=text,
            strengths=strengths,
            improvements=improvements,
            covered_key_points=grade.covered,
            missed_key_points=grade.missed,
            insufficient_evidence=grade.insufficient_evidence,
            provenance=Provenance(
                provider=self.name,
                model_name=self.model_name,
                model_version=self.grader_version,
                rubric_version=self.rubric_version,
                latency_ms=latency_ms,
                details={"reason": grade.reason, "features": dict(grade.features)},
            ),
        )
