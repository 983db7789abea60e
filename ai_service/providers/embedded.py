"""The embedded provider: an offline question bank and a local grader. No network, no key.

Selection and grading are CPU work, so they run in a thread to keep the event loop free.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from .. import feedback
from ..bank import BankQuestion, load_bank
from ..base import AIProvider
from ..errors import ProviderBadOutput
from ..grading import batcher, encoder, fewshot, lexical, semantic
from ..grading.batcher import MicroBatcher
from ..grading.text import stems
from ..grading.types import GradeInput, GradeOutput
from ..options import ProviderOptions
from ..types import Evaluation, EvaluationRequest, GeneratedQuestion, InterviewContext, Provenance

logger = logging.getLogger(__name__)

DIFFICULTY_ORDER = ("easy", "medium", "hard")
# Weight of the job/question embedding cosine in a question's fit (tag and skill overlap add ~1-3).
EMBEDDING_WEIGHT = 10.0
# A question's area affinity: the mean cosine of the job to the area's AREA_TOP best questions.
AREA_TOP = 5

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


_bank_vectors: dict[tuple[str, str], np.ndarray] = {}
_bank_lock = threading.Lock()


def _question_text(q: BankQuestion) -> str:
    return f"{q.area} {q.competency}: {q.text} Topics: {', '.join(q.tags)}."


def _job_text(context: InterviewContext) -> str:
    parts = [context.job_title, context.job_description]
    if context.skills:
        parts.append("Skills: " + ", ".join(context.skills))
    return ". ".join(p.strip() for p in parts if p and p.strip())


def bank_vectors(questions: Sequence[BankQuestion]) -> np.ndarray:
    """Embeddings of (question text + tags + competency), computed once per process per question."""
    with _bank_lock:
        missing = [q for q in questions if (q.id, q.text) not in _bank_vectors]
        if missing:
            encoded = encoder.load_encoder().encode([_question_text(q) for q in missing])
            for q, enc in zip(missing, encoded, strict=True):
                _bank_vectors[(q.id, q.text)] = enc.vec
        return np.stack([_bank_vectors[(q.id, q.text)] for q in questions]) if questions else np.zeros((0, 384))


def _embedding_fit(context: InterviewContext, pool: Sequence[BankQuestion]) -> np.ndarray | None:
    """Per question: half its cosine to the job (title + description + skills), half its area's affinity.

    The area term steadies the ranking when a short job text matches single questions loosely.
    None without the model.
    """
    job = _job_text(context)
    if not job or not pool:
        return None
    if not encoder.loaded():
        # A candidate never waits for the model: rank by keywords this time, load it meanwhile.
        encoder.load_in_background()
        return None
    try:
        job_vec = encoder.load_encoder().encode_cached([job])[0].vec
        similarity = bank_vectors(pool) @ job_vec
    except Exception as exc:  # the model is optional for selection
        logger.warning("question selection without embeddings: %s", exc)
        return None
    areas = np.array([q.area for q in pool])
    affinity = {a: float(np.sort(similarity[areas == a])[-AREA_TOP:].mean()) for a in set(areas)}
    return 0.5 * similarity + 0.5 * np.array([affinity[a] for a in areas])


@functools.lru_cache(maxsize=8192)
def _tag_stems(tags: tuple[str, ...]) -> frozenset[str]:
    return frozenset(s for tag in tags for s in stems(tag))


# Per job (its text and skills) and pool: each question's fit before the per-session jitter.
# Every candidate of a job ranks the same pool for the same job, so a connect reuses it.
_job_fits: OrderedDict[tuple[str, tuple[str, ...], tuple[str, ...]], list[float]] = OrderedDict()
_JOB_FITS_MAX = 1024


def _embedding_base(context: InterviewContext, pool: Sequence[BankQuestion]) -> list[float] | None:
    """EMBEDDING_WEIGHT x the embedding fit + the skill-tag bonus of each question (cached per job)."""
    key = (_job_text(context), tuple(context.skills), tuple(q.id for q in pool))
    with _bank_lock:
        found = _job_fits.get(key)
        if found is not None:
            _job_fits.move_to_end(key)
            return found
    similarity = _embedding_fit(context, pool)
    if similarity is None:
        return None  # not cached: the model may be loaded next time
    skill_stems = stems(" ".join(context.skills))
    base = [
        EMBEDDING_WEIGHT * float(sim) + 1.0 * len(_tag_stems(q.tags) & skill_stems)
        for q, sim in zip(pool, similarity, strict=True)
    ]
    with _bank_lock:
        _job_fits[key] = base
        while len(_job_fits) > _JOB_FITS_MAX:
            _job_fits.popitem(last=False)
    return base


def _rank_questions(
    context: InterviewContext, pool: Sequence[BankQuestion], use_embeddings: bool = True
) -> list[BankQuestion]:
    rng = random.Random(context.seed or context.job_title)
    base = _embedding_base(context, pool) if use_embeddings else None
    if base is not None:
        # Ranked by meaning; a tag naming one of the skills still counts a little on top.
        fits = {
            q.id: b + rng.random() * 0.3  # breaks near-ties differently per session
            for q, b in zip(pool, base, strict=True)
        }
        return sorted(pool, key=lambda q: fits[q.id], reverse=True)
    job_stems = stems(" ".join((context.job_title, context.job_description, " ".join(context.skills))))
    skill_stems = stems(" ".join(context.skills))

    # Lexical fallback when the model is unavailable.
    area_bonus: dict[str, float] = {}
    for area, hints in AREA_HINTS.items():
        hint_stems = {h for hint in hints for h in stems(hint)}
        area_bonus[area] = float(len(hint_stems & job_stems))

    def fit(q: BankQuestion) -> float:
        tag_stems = _tag_stems(q.tags)
        return (
            3.0 * len(tag_stems & skill_stems)
            + 1.0 * len(tag_stems & job_stems)
            + 2.0 * area_bonus.get(q.area, 0.0)
            + 0.5 * (q.area == "general")
            + rng.random() * 0.5  # breaks ties differently per session
        )

    return sorted(pool, key=fit, reverse=True)


def select_questions(
    context: InterviewContext, bank: Sequence[BankQuestion], use_embeddings: bool = True
) -> list[BankQuestion]:
    """Pick `question_count` distinct questions that fit the job, type and difficulty.

    Ranks by the MiniLM cosine of the job (title, description, skills) to each question (text,
    tags, competency), falling back to tag/keyword overlap without the model. Prefers the asked
    difficulty, then its neighbours; spreads questions over competencies; for a mixed interview
    about a third are behavioral.
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
        ranked = _rank_questions(context, pool, use_embeddings)
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


def bank_questions(context: InterviewContext, use_embeddings: bool = True) -> list[GeneratedQuestion]:
    """The interview's questions from the offline bank (`select_questions`), as providers return them."""
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
        for q in select_questions(context, load_bank(), use_embeddings)
    ]


class EmbeddedOptions(ProviderOptions):
    model_name: str = Field("embedded", description="a string")
    model_version: str = Field(lexical.VERSION, description="a string")
    # "semantic" (MiniLM, calibrated; the default) or "lexical" (no model).
    grader: Literal["semantic", "lexical"] = Field("semantic", description="semantic or lexical")
    batch_max: int = Field(batcher.MAX_BATCH, ge=1, description="an integer >= 1")
    batch_delay_ms: float = Field(batcher.MAX_DELAY * 1000, ge=0, allow_inf_nan=False, description="milliseconds >= 0")
    batch_concurrency: int = Field(batcher.MAX_CONCURRENT, ge=1, description="an integer >= 1")


class EmbeddedProvider(AIProvider):
    name = "embedded"
    rubric_version = "embedded-rubric-1"
    options_model = EmbeddedOptions

    def __init__(self, alias: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(alias, options)
        # Nothing to fall back to: bad options fail here (ProviderConfigError), as `manage.py check` says.
        settings = EmbeddedOptions.parse(self.options)
        self.model_name = settings.model_name
        self.model_version = settings.model_version
        self.grader = settings.grader
        self._semantic_ready_state: bool | None = None if self.grader == "semantic" else False
        self._batcher: MicroBatcher[GradeInput, GradeOutput] = MicroBatcher(
            self._grade,
            max_batch=settings.batch_max,
            max_delay=settings.batch_delay_ms / 1000.0,
            max_concurrent=settings.batch_concurrency,
        )

    async def generate_questions(self, context: InterviewContext) -> Sequence[GeneratedQuestion]:
        return await asyncio.to_thread(bank_questions, context)

    def _semantic_ready(self) -> bool:
        """Load the semantic grader once; False (with a warning) if the model cannot load."""
        if self._semantic_ready_state is None:
            try:
                semantic.warm_up()
                self._semantic_ready_state = True
            except Exception as exc:
                logger.warning("semantic grader unavailable, grading with %s instead: %s", lexical.VERSION, exc)
                self._semantic_ready_state = False
        return self._semantic_ready_state

    def _warm(self) -> None:
        if self._semantic_ready():
            try:
                bank_vectors(load_bank())
            except Exception as exc:
                logger.warning("could not embed the question bank: %s", exc)

    async def warm_up(self) -> None:
        """Load the model, the calibration and the bank embeddings before the first interview."""
        await asyncio.to_thread(self._warm)

    def _grade(self, items: Sequence[GradeInput]) -> list[GradeOutput]:
        if self._semantic_ready():
            try:
                # The semantic grade, then the team's leniency and graded examples (grading/fewshot.py).
                return fewshot.grade_many(items)
            except Exception as exc:
                logger.warning("semantic grading failed for %d answers, using the lexical grader: %s", len(items), exc)
                return [
                    dataclasses.replace(g, features={**g.features, "lexical_fallback": 1.0})
                    for g in (lexical.grade(item) for item in items)
                ]
        return [lexical.grade(item) for item in items]

    @property
    def grader_version(self) -> str:
        """The grader in use (before the first grade: the configured one)."""
        return semantic.VERSION if self._semantic_ready_state is not False else lexical.VERSION

    async def evaluate(self, request: EvaluationRequest) -> Evaluation:
        return (await self.evaluate_many([request]))[0]

    async def evaluate_many(self, requests: Sequence[EvaluationRequest]) -> list[Evaluation]:
        started = time.perf_counter()
        items = [
            GradeInput(
                question=r.question,
                reference_answer=r.reference_answer,
                answer=r.response,
                key_points=r.key_points,
                examples=r.graded_examples,
                leniency=r.leniency,
            )
            for r in requests
        ]
        # Concurrent callers share one model batch (see grading/batcher.py).
        grades = await self._batcher.grade_many(items)
        latency = round((time.perf_counter() - started) * 1000, 3)
        return [self._to_evaluation(g, latency) for g in grades]

    def _to_evaluation(self, grade: GradeOutput, latency_ms: float) -> Evaluation:
        text, strengths, improvements = feedback.compose(grade)
        fallback = bool(grade.features.get("lexical_fallback"))
        details: dict[str, object] = {"reason": grade.reason, "features": dict(grade.features)}
        if grade.calibration:  # zero-shot score, leniency and examples used (absent: lexical grade)
            details["calibration"] = dict(grade.calibration)
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
                model_version=lexical.VERSION if fallback else self.grader_version,
                rubric_version=self.rubric_version,
                latency_ms=latency_ms,
                fallback_used=fallback,
                error_kind="grader_fallback" if fallback else "",
                details=details,
            ),
        )
