"""Human review of answers, the team calibration learned from reviews, and re-grading.

- `answer_review`: a reviewer scores one answer (0-10, with a note). The AI score stays as it
  was, beside the review; a later review supersedes the current one and both are kept.
- `calibration_refit`: fit a monotone mapping of raw AI scores onto the reviewers' scale from
  every (raw AI score, human score) pair, store it as a new `Calibration` version and (by
  default) make it the active one, which `evaluation_store` applies to new grades. The fit is a
  callable: CALIBRATION_FIT, by default `grading_leniency_fit` (ai_service.grading's fit), or the
  project's own `analytics.isotonic_fit`. Every fit is stored as ai_service's `Leniency` JSON.
- `answers_regrade`: re-score graded answers, by default through the active calibration, keeping
  every replaced score and result in `ScoreRevision` with what produced it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils.module_loading import import_string

from ai_service.types import Leniency
from interview_rt.interviews import audit, rows
from interview_rt.interviews.constants import MAX_REVIEW_NOTE_CHARS, AuditAction, EvaluationStatus
from interview_rt.interviews.errors import ErrorCode, InterviewError
from interview_rt.interviews.models import AIInterviewResponse, AIInterviewResult
from interview_rt.interviews.rows import Id, parse_uuid

from . import analytics, selectors, signals
from .models import AnswerReview, Calibration, ScoreRevision

# A fit takes (raw AI scores, human scores) and returns ai_service's `Leniency` (or anything with
# a `to_json()` giving its JSON), that JSON itself, or a monotone function of a raw score, which is
# tabulated (analytics.tabulate). What is stored is always Leniency JSON.
Fit = Callable[[Sequence[float], Sequence[float]], Any]

# --- review ---------------------------------------------------------------------------------------


def answer_review(*, response_id: Id, reviewer: Any, score: object, note: object = "") -> AnswerReview:
    """Record a reviewer's score of one answer; it becomes the answer's current review."""
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= float(score) <= 10:
        raise InterviewError(ErrorCode.INVALID_FIELD, "score must be a number from 0 to 10", field="score")
    if not isinstance(note, str) or len(note) > MAX_REVIEW_NOTE_CHARS:
        raise InterviewError(
            ErrorCode.INVALID_FIELD, f"note must be text of at most {MAX_REVIEW_NOTE_CHARS} characters", field="note"
        )
    with transaction.atomic():
        # Locked so two reviewers at once still leave exactly one current review.
        response = (
            AIInterviewResponse.objects.select_for_update(of=("self",))
            .select_related("question", "session__invitation__candidate", "session__invitation__job")
            .filter(pk=parse_uuid(response_id, "response_id"))
            .first()
        )
        if response is None:
            raise InterviewError(ErrorCode.NOT_FOUND, "No such answer.")
        superseded = AnswerReview.objects.filter(response=response, current=True).update(current=False)
        user, name = audit.actor_of(reviewer)
        review = AnswerReview.objects.create(
            response=response,
            reviewer=user,
            reviewer_name=name,
            score=round(float(score), 2),
            note=note,
            ai_score=response.score,
            ai_raw_score=response.raw_score,
            calibration_version=response.calibration_version,
            question_key=rows.question_key(response.question.text),
        )
        audit.record(
            actor=reviewer,
            action=AuditAction.ANSWER_REVIEWED,
            target_type="answer",
            target_id=str(response.pk),
            details={
                "review_id": review.pk,
                "session_id": str(response.session_id),
                "score": review.score,
                "ai_score": review.ai_score,
                "superseded": superseded,
            },
        )
        signals.answer_reviewed.send(AnswerReview, review=review)
    return review


# --- calibration ----------------------------------------------------------------------------------


def grading_leniency_fit(ai: Sequence[float], human: Sequence[float]) -> Any:
    """`ai_service.grading`'s leniency fit as a CALIBRATION_FIT
    (`interview_rt.review.reviews.grading_leniency_fit`): it takes (zero-shot score, reviewer
    score) pairs and returns a `Leniency`, stored as its JSON."""
    from ai_service.grading.leniency import fit_leniency  # lands with the grading engineer's work

    return fit_leniency(list(zip(ai, human, strict=True)))


def _leniency_of(fitted: Any) -> Leniency:
    if hasattr(fitted, "to_json"):
        fitted = fitted.to_json()
    if isinstance(fitted, Mapping):
        mapping = dict(fitted)
    elif callable(fitted):
        mapping = analytics.tabulate(fitted)
    else:
        raise ValueError(f"the fit returned {type(fitted).__name__}, not a mapping or a function")
    try:
        # Checks what every reader relies on: knots in 0-10, increasing, never going down.
        return Leniency.from_json(mapping)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"the fit returned an unusable mapping: {exc}") from None


def _fit_summary(ai: Sequence[float], human: Sequence[float], leniency: Leniency) -> dict[str, Any]:
    mapped = [round(leniency.apply(v), 2) for v in ai]

    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    return {
        # In-sample: measured on the pairs the mapping was fitted on, so "after" flatters it.
        "mean_bias_before": r(analytics.mean_bias(ai, human)),
        "mean_bias_after": r(analytics.mean_bias(mapped, human)),
        "rmse_before": r(analytics.rmse(ai, human)),
        "rmse_after": r(analytics.rmse(mapped, human)),
        "raw_score_range": [min(ai), max(ai)],
        # The mapping's own content version (two fits that map every score alike share it).
        "leniency_version": leniency.version,
    }


def calibration_refit(
    *,
    fit: Fit | None = None,
    fit_name: str | None = None,
    actor: Any = None,
    activate: bool = True,
    min_pairs: int | None = None,
) -> Calibration:
    """Fit the team's leniency on every current review and store it as the next version. `fit`
    defaults to CALIBRATION_FIT (`grading_leniency_fit` unless set)."""
    if fit is None:
        fit, fit_name = import_string(settings.CALIBRATION_FIT), fit_name or settings.CALIBRATION_FIT
    name = fit_name or f"{getattr(fit, '__module__', '')}.{getattr(fit, '__qualname__', repr(fit))}".strip(".")
    ai, human = selectors.calibration_pairs()
    needed = settings.CALIBRATION_MIN_PAIRS if min_pairs is None else min_pairs
    if len(ai) < max(1, needed):
        raise InterviewError(
            ErrorCode.NOT_ENOUGH_REVIEWS, f"{len(ai)} reviewed answers with an AI score; at least {needed} are needed."
        )
    leniency = _leniency_of(fit(ai, human))
    with transaction.atomic():
        version = (Calibration.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        if activate:
            Calibration.objects.filter(active=True).update(active=False)
        user, _ = audit.actor_of(actor)
        calibration = Calibration.objects.create(
            version=version,
            mapping=leniency.to_json(),
            fit_name=name[:100],
            pair_count=len(ai),
            summary=_fit_summary(ai, human, leniency),
            active=activate,
            created_by=user,
        )
        audit.record(
            actor=actor,
            action=AuditAction.CALIBRATION_FITTED,
            target_type="calibration",
            target_id=str(version),
            details={"pairs": len(ai), "fit": calibration.fit_name, "active": activate},
        )
    return calibration


def calibration_activate(*, version: int | None, actor: Any = None) -> Calibration | None:
    """Make one version the active calibration (a rollback, say), or none with `version=None`;
    run `answers_regrade` afterwards to bring stored scores in line."""
    with transaction.atomic():
        target = None
        if version is not None:
            target = Calibration.objects.select_for_update().filter(version=version).first()
            if target is None:
                raise InterviewError(ErrorCode.NOT_FOUND, f"No calibration version {version}.")
        Calibration.objects.filter(active=True).update(active=False)
        if target is not None:
            target.active = True
            target.save(update_fields=["active"])
        audit.record(
            actor=actor,
            action=AuditAction.CALIBRATION_ACTIVATED,
            target_type="calibration",
            target_id=str(version or ""),
        )
    return target


# --- re-grading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegradeItem:
    """What a re-scorer sees of one graded answer."""

    response_id: str
    question: str
    answer: str
    reference_answer: str
    key_points: tuple[str, ...]
    competency: str
    raw_score: float
    score: float | None
    calibration_version: int | None
    # "project", "provider" or "" (rows.CALIBRATED_*): who applied the calibration.
    calibrated_by: str = ""


@dataclass(frozen=True)
class Rescored:
    """A new AI score: `score` as shown, `raw_score` the grader's, and what produced it."""

    score: float
    raw_score: float
    calibration_version: int | None = None
    graded_example_ids: tuple[int, ...] | None = None  # None: keep the answer's current ones
    # Who applied `calibration_version` (rows.CALIBRATED_*); None: this project, if any.
    calibrated_by: str | None = None


Rescore = Callable[[RegradeItem], Rescored | None]


def through_calibration(calibration: Calibration | None) -> Rescore:
    """The re-scorer for a calibration change: the stored raw score through the new mapping
    (no model call; without a calibration, the raw score itself). Answers a provider calibrated
    (with graded examples too) are skipped: re-grading those takes the provider (`rescore=`)."""

    def rescore(item: RegradeItem) -> Rescored | None:
        if item.calibrated_by == rows.CALIBRATED_BY_PROVIDER:
            return None
        score, version = rows.calibrated(item.raw_score, calibration)
        return Rescored(
            score=score if score is not None else item.raw_score, raw_score=item.raw_score, calibration_version=version
        )

    return rescore


@dataclass
class RegradeReport:
    sessions: int = 0
    answers_seen: int = 0
    answers_changed: int = 0
    answers_skipped: int = 0
    results_changed: int = 0
    calibration_version: int | None = None


def _answer_provenance(r: AIInterviewResponse) -> dict[str, Any]:
    return {
        "provider": r.provider,
        "model_name": r.model_name,
        "model_version": r.model_version,
        "rubric_version": r.rubric_version,
        "fallback_used": r.fallback_used,
        "calibration_version": r.calibration_version,
        "calibrated_by": (r.evaluation_details or {}).get("calibrated_by", ""),
        "graded_examples": r.graded_examples,
        "evaluated_at": r.evaluated_at.isoformat() if r.evaluated_at else None,
    }


def _regrade_session(session_id: Any, rescore: Rescore, reason: str, report: RegradeReport) -> None:
    with transaction.atomic():
        # Under the session lock, like evaluation_store: a result summarised meanwhile sees
        # either all of this session's new scores or none.
        session = rows.locked(session_id)
        answers = rows.answers_of(session)
        changed = False
        for r in answers:
            if r.evaluation_status != EvaluationStatus.DONE or r.raw_score is None:
                continue
            report.answers_seen += 1
            new = rescore(
                RegradeItem(
                    response_id=str(r.pk),
                    question=r.question.text,
                    answer=r.response_text,
                    reference_answer=r.question.reference_answer,
                    key_points=tuple(r.question.key_points or ()),
                    competency=r.question.competency,
                    raw_score=r.raw_score,
                    score=r.score,
                    calibration_version=r.calibration_version,
                    calibrated_by=str((r.evaluation_details or {}).get("calibrated_by", "")),
                )
            )
            if new is None:
                report.answers_skipped += 1
                continue
            examples = list(new.graded_example_ids) if new.graded_example_ids is not None else r.graded_examples
            if (new.score, new.raw_score, new.calibration_version, examples) == (
                r.score,
                r.raw_score,
                r.calibration_version,
                r.graded_examples,
            ):
                continue
            ScoreRevision.objects.create(
                session=session,
                response=r,
                kind=ScoreRevision.ANSWER,
                score=r.score,
                raw_score=r.raw_score,
                provenance=_answer_provenance(r),
                reason=reason[:200],
            )
            r.score = round(min(10.0, max(0.0, new.score)), 2)
            r.raw_score = new.raw_score
            r.calibration_version = new.calibration_version
            r.graded_examples = examples
            details = {k: v for k, v in (r.evaluation_details or {}).items() if k != "calibrated_by"}
            by = new.calibrated_by if new.calibrated_by is not None else rows.CALIBRATED_HERE
            if new.calibration_version is not None:
                details["calibrated_by"] = by
            r.evaluation_details = details
            r.save(update_fields=["score", "raw_score", "calibration_version", "graded_examples", "evaluation_details"])
            report.answers_changed += 1
            changed = True
        result = AIInterviewResult.objects.filter(session=session).first()
        if changed and result is not None:
            fields = rows.result_fields(rows.summarize(answers))
            if (result.overall_score, result.recommendation, result.competency_scores) != (
                fields["overall_score"],
                fields["recommendation"],
                fields["competency_scores"],
            ):
                ScoreRevision.objects.create(
                    session=session,
                    kind=ScoreRevision.RESULT,
                    score=result.overall_score,
                    recommendation=result.recommendation,
                    provenance={"competency_scores": result.competency_scores, "summary": result.summary},
                    reason=reason[:200],
                )
                for name, value in fields.items():
                    setattr(result, name, value)
                result.save(update_fields=list(fields))
                report.results_changed += 1
    report.sessions += 1


def answers_regrade(
    *,
    rescore: Rescore | None = None,
    reason: str = "",
    actor: Any = None,
    session_ids: Sequence[Id] | None = None,
    progress: Callable[[int], None] | None = None,
) -> RegradeReport:
    """Re-score every graded answer (or those of `session_ids`), one session per transaction.
    By default through the active calibration, which is what to run after a calibration
    changes; pass `rescore` to re-grade another way (a provider with new graded examples).
    Replaced answer scores and results are kept in ScoreRevision; unchanged ones are left alone.
    `progress(n)` is called after each session."""
    calibration = selectors.active_calibration()
    report = RegradeReport(calibration_version=calibration.version if calibration else None)
    if rescore is None:
        rescore = through_calibration(calibration)
        reason = reason or (f"calibration v{calibration.version}" if calibration else "calibration removed")
    reason = reason or "re-grade"
    sessions = AIInterviewResponse.objects.filter(evaluation_status=EvaluationStatus.DONE, raw_score__isnull=False)
    if session_ids is not None:
        sessions = sessions.filter(session_id__in=[parse_uuid(s, "session_id") for s in session_ids])
    for session_id in sessions.order_by("session_id").values_list("session_id", flat=True).distinct():
        _regrade_session(session_id, rescore, reason, report)
        if progress is not None:
            progress(1)
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.ANSWERS_REGRADED,
            target_type="calibration" if report.calibration_version else "",
            target_id=str(report.calibration_version or ""),
            details={
                "reason": reason[:200],
                "sessions": report.sessions,
                "answers_changed": report.answers_changed,
                "results_changed": report.results_changed,
            },
        )
    return report


def regrade_targets() -> int:
    """How many sessions `answers_regrade` would visit (for a progress bar)."""
    return (
        AIInterviewResponse.objects.filter(evaluation_status=EvaluationStatus.DONE, raw_score__isnull=False)
        .values("session_id")
        .distinct()
        .count()
    )
