"""The staff REST endpoints' response bodies, declared once (pydantic, like the candidate's in
`schemas/public_rest.py`): the views' OpenAPI responses are these models (drf-spectacular reads
pydantic), and tests/test_rest_bodies.py validates what each endpoint really answers against them,
so the document cannot drift from the server. The dicts themselves are built by the selectors and
services; these say their shape.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel


class _Body(BaseModel):
    # A key the server sends that is not declared here fails the body tests.
    model_config = ConfigDict(extra="forbid")


# --- reviews and calibration -----------------------------------------------------------------------


class ReviewOut(_Body):
    id: int
    response_id: uuid.UUID
    score: float = Field(description="the reviewer's score, 0-10")
    note: str
    reviewer: str | None
    ai_score: float | None = Field(description="the AI score the reviewer saw (kept, never changed)")
    ai_raw_score: float | None
    calibration_version: int | None
    current: bool = Field(description="false once a later review superseded it")
    created_at: datetime


class ScoreRevisionOut(_Body):
    kind: Literal["answer", "result"]
    score: float | None
    raw_score: float | None
    recommendation: str | None
    provenance: dict[str, Any]
    reason: str
    replaced_at: datetime


class AnswerReviewStateOut(_Body):
    response_id: uuid.UUID
    session_id: uuid.UUID
    question_id: uuid.UUID
    question: str
    answer: str
    ai_score: float | None = Field(description="the AI score as shown (calibrated)")
    raw_score: float | None = Field(description="the grader's score before calibration")
    calibration_version: int | None
    graded_examples: list[int] = Field(description="review ids")
    evaluation_status: str
    review: ReviewOut | None = Field(description="the current review")
    reviews: list[ReviewOut] = Field(description="every review, newest first")
    score_history: list[ScoreRevisionOut] = Field(description="AI scores replaced by re-grades, newest first")


class GradedExampleOut(_Body):
    review_id: int
    response_id: uuid.UUID
    answer: str
    score: float
    note: str
    ai_score: float | None


class LeniencyOut(_Body):
    """A calibration's mapping: ai_service's `Leniency` as JSON (`Leniency.to_json()`)."""

    version: str = Field(description="a content hash of the knots and grader: two fits that map alike share it")
    grader_version: str = Field(description='the grader it was fitted for ("": any, applied by this server)')
    pairs: int = Field(description="reviewed answers it was fitted on")
    knots: list[tuple[float, float]] = Field(
        description="(raw score, calibrated score) points over 0-10, increasing in raw and never going down "
        "in calibrated; linear in between, flat beyond the ends"
    )


class CalibrationOut(_Body):
    version: int
    active: bool
    fit_name: str
    pair_count: int
    mapping: LeniencyOut
    summary: dict[str, Any] = Field(description="in-sample bias and RMSE before and after")
    created_by: str | None
    created_at: datetime


class RegradeOut(_Body):
    sessions: int
    answers_seen: int
    answers_changed: int
    answers_skipped: int = Field(description="calibrated by a provider: re-grade those with the provider")
    results_changed: int
    calibration_version: int | None


class CalibrationChangeOut(_Body):
    calibration: CalibrationOut | None
    regrade: RegradeOut | None


# --- privacy ---------------------------------------------------------------------------------------


class ErasureOut(_Body):
    dry_run: bool
    candidate_ids: list[int]
    candidates: int
    invitations: int
    sessions: int
    answers: int
    frames: int
    reviews: int
    webhook_deliveries_redacted: int
    admin_log_entries: int
    anonymised_sessions: int


# --- analytics -------------------------------------------------------------------------------------


class EstimateOut(_Body):
    value: float | None
    ci_low: float | None
    ci_high: float | None


class AgreementOut(_Body):
    n: int = Field(description="reviewed answers with an AI score")
    pearson: EstimateOut
    qwk: EstimateOut = Field(description="quadratic weighted kappa over whole points 0-10")
    mean_bias: EstimateOut = Field(description="mean of AI minus human; negative: the AI is stricter")
    rmse: EstimateOut


class ReviewerAgreementOut(AgreementOut):
    reviewer: str


class FunnelOut(_Body):
    sessions: int
    started: int
    completed: int
    abandoned: int = Field(description="started, then left or expired before completing")
    in_progress: int
    completion_rate: float | None = Field(description="completed / started")
    abandonment_rate: float | None = Field(description="abandoned / started")
    median_duration_seconds: float | None = Field(description="of completed sessions")


class HistogramOut(_Body):
    bin_edges: list[float]
    counts: list[int]


class DistributionOut(_Body):
    n: int
    mean: float | None
    median: float | None
    histogram: HistogramOut


class GroupRateOut(_Body):
    group: str
    n: int
    selected: int
    selection_rate: float
    impact_ratio: float | None = Field(description="selection rate / the highest shown rate")
    below_four_fifths: bool


class AdverseImpactOut(_Body):
    groups: list[GroupRateOut] = Field(description="groups of at least 5 completed sessions")
    suppressed_groups: int = Field(description="groups under 5, not shown")
    reference_group: str | None


class JobOut(_Body):
    job: str
    funnel: FunnelOut
    overall_scores: DistributionOut
    agreement: AgreementOut
    adverse_impact: AdverseImpactOut


class CompetencyOut(_Body):
    competency: str
    ai_scores: DistributionOut
    human_scores: DistributionOut


class AgreementSectionOut(_Body):
    overall: AgreementOut
    per_reviewer: list[ReviewerAgreementOut]


class AnalyticsOut(_Body):
    filters: dict[str, Any]
    erased_sessions_included: int
    bootstrap_resamples: int
    funnel: FunnelOut
    jobs: list[JobOut]
    competencies: list[CompetencyOut]
    agreement: AgreementSectionOut


# --- staff users and job teams ----------------------------------------------------------------------


class StaffUserOut(_Body):
    username: str
    email: str
    role: Literal["admin", "recruiter", "reviewer"] | None = Field(description="null: no role (not staff any more)")
    is_staff: bool
    is_superuser: bool
    has_password: bool = Field(description="false: logs in only once a password is set (or with an API token)")


class JobTeamOut(_Body):
    id: int
    title: str
    owner: str | None
    team: list[str] = Field(description="usernames")
    notice_version: str = Field(description="the consent notice this job's candidates see")


# List bodies as named models (an OpenAPI component each).
class GradedExampleList(RootModel[list[GradedExampleOut]]):
    pass


class CalibrationList(RootModel[list[CalibrationOut]]):
    pass


class StaffUserList(RootModel[list[StaffUserOut]]):
    pass


class JobTeamList(RootModel[list[JobTeamOut]]):
    pass


def dump(model: type[_Body], data: Any) -> dict[str, Any]:
    """What `model` declares of `data` (a dict, or an object with those attributes), as JSON
    values: a service's report may hold more than its endpoint shows."""
    fields = model.model_fields
    picked = {k: v for k, v in data.items() if k in fields} if isinstance(data, dict) else data
    return model.model_validate(picked, from_attributes=True).model_dump(mode="json")
