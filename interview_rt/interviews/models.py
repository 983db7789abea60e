"""Persistence only: no AI calls, no sends, no state rules here (see state.py and services/)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models

from .constants import (
    DEFAULT_QUESTION_COUNT,
    DEFAULT_TIME_LIMIT_SECONDS,
    DIFFICULTIES,
    INTERVIEW_TYPES,
    MAX_DEMOGRAPHIC_GROUP_CHARS,
    MAX_PLANNED_QUESTIONS,
    ActionKind,
    AuditAction,
    EvaluationStatus,
    FeedbackMode,
    Recommendation,
    SignalKind,
    Status,
    choices,
)

# Kept importable from here for code that reads the vocabulary next to the rows.
__all__ = ["EvaluationStatus", "FeedbackMode", "Recommendation", "Status"]


class Job(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    required_skills = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Object-level visibility: recruiters and reviewers see the sessions of jobs they own or are
    # on the team of; admins see every job.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_jobs"
    )
    team = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="team_jobs")
    # This job's consent and AI notice; blank: the deployment's (interviews/notices.py).
    consent_notice = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return self.title


class Candidate(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Optional, self-reported by the candidate with consent (None: not reported); only ever shown in aggregate
    # (the adverse-impact table), never in results, exports or webhooks.
    demographic_group = models.CharField(max_length=MAX_DEMOGRAPHIC_GROUP_CHARS, null=True, blank=True)  # noqa: DJ001
    demographic_consent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class InterviewInvitation(models.Model):
    """The interview link: who is interviewed, for what, how; the signed token names its id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="invitations")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="invitations")
    interview_type = models.CharField(max_length=20, choices=choices(INTERVIEW_TYPES), default="technical")
    difficulty = models.CharField(max_length=10, choices=choices(DIFFICULTIES), default="medium")
    question_count = models.PositiveSmallIntegerField(default=DEFAULT_QUESTION_COUNT)
    time_limit_seconds = models.PositiveIntegerField(default=DEFAULT_TIME_LIMIT_SECONDS)
    feedback_mode = models.CharField(max_length=10, choices=choices(FeedbackMode), default=FeedbackMode.IMMEDIATE)
    expires_at = models.DateTimeField()
    revoked = models.BooleanField(default=False)
    # The candidate must accept the consent and AI notice before the first question.
    consent_required = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(question_count__gte=1, question_count__lte=MAX_PLANNED_QUESTIONS),
                name="invitation_question_count_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.candidate} / {self.job}"


class AIInterviewSession(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # One session per invitation: opening the link again returns the same session.
    invitation = models.OneToOneField(InterviewInvitation, on_delete=models.CASCADE, related_name="session")
    status = models.CharField(max_length=20, choices=choices(Status), default=Status.CREATED)
    question_count = models.PositiveSmallIntegerField()
    questions_ready = models.BooleanField(default=False)
    # Planned questions plus follow-ups inserted so far.
    # Index (0-based) of the question being asked; equals question_count once all are answered.
    current_index = models.PositiveSmallIntegerField(default=0)
    answered_count = models.PositiveSmallIntegerField(default=0)
    evaluated_count = models.PositiveSmallIntegerField(default=0)
    # Highest seq in the frame log, bumped under the row lock when a frame is appended.
    last_seq = models.PositiveIntegerField(default=0)
    # Highest seq in the staff feed log (FeedFrame), bumped under the same row lock.
    feed_seq = models.PositiveIntegerField(default=0)
    consent_version = models.CharField(max_length=40, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    ended_early = models.BooleanField(default=False)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    generation_error = models.CharField(max_length=200, blank=True)
    # Lease on question generation, like AIInterviewResponse.claimed_at for evaluations.
    generation_claimed_at = models.DateTimeField(null=True, blank=True)
    generation_claimed_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"session {self.id} ({self.status})"


class AIInterviewQuestion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(AIInterviewSession, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField()
    # Set on a follow-up question: the planned question whose incomplete answer prompted it.
    follow_up_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="follow_ups")
    text = models.TextField()
    question_type = models.CharField(max_length=20)
    competency = models.CharField(max_length=100, blank=True)
    difficulty = models.CharField(max_length=10, choices=choices(DIFFICULTIES))
    # Never sent to the candidate.
    reference_answer = models.TextField(blank=True)
    key_points = models.JSONField(default=list, blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    time_limit_seconds = models.PositiveIntegerField()
    asked_at = models.DateTimeField(null=True, blank=True)
    # Set on a question an interviewer added to the running interview (the name survives the user).
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_by_name = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "order"]
        constraints = [models.UniqueConstraint(fields=["session", "order"], name="question_order_unique")]

    def __str__(self) -> str:
        return f"Q{self.order + 1}: {self.text[:60]}"


class AIInterviewResponse(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(AIInterviewSession, on_delete=models.CASCADE, related_name="responses")
    # One answer per question; a second answer to the same question is refused.
    question = models.OneToOneField(AIInterviewQuestion, on_delete=models.CASCADE, related_name="response")
    client_id = models.CharField(max_length=64)
    response_text = models.TextField(blank=True)
    response_type = models.CharField(max_length=20, default="text")
    submitted_at = models.DateTimeField(null=True, blank=True)  # as the client reported it
    received_at = models.DateTimeField()
    time_taken_seconds = models.FloatField(null=True, blank=True)
    is_late = models.BooleanField(default=False)
    # Integrity signals while this question was open (counts and times; see SignalKind). Shown to
    # reviewers as signals to judge; never read by grading or scoring.
    integrity = models.JSONField(default=dict, blank=True)

    evaluation_status = models.CharField(
        max_length=10, choices=choices(EvaluationStatus), default=EvaluationStatus.PENDING
    )
    # The AI score as shown: the grader's `raw_score` through the team calibration, if one is active.
    score = models.FloatField(null=True, blank=True)
    raw_score = models.FloatField(null=True, blank=True)
    calibration_version = models.PositiveIntegerField(null=True, blank=True)
    # Ids of the reviews the grader was given as graded examples.
    graded_examples = models.JSONField(default=list, blank=True)
    insufficient_evidence = models.BooleanField(default=False)
    feedback = models.TextField(blank=True)
    strengths = models.JSONField(default=list, blank=True)
    improvements = models.JSONField(default=list, blank=True)
    covered_key_points = models.JSONField(default=list, blank=True)
    missed_key_points = models.JSONField(default=list, blank=True)
    # Provenance: who graded, with what, how long, and whether a fallback produced it.
    provider = models.CharField(max_length=50, blank=True)
    model_name = models.CharField(max_length=100, blank=True)
    model_version = models.CharField(max_length=100, blank=True)
    rubric_version = models.CharField(max_length=100, blank=True)
    evaluation_latency_ms = models.FloatField(null=True, blank=True)
    fallback_used = models.BooleanField(default=False)
    error_kind = models.CharField(max_length=50, blank=True)
    evaluation_details = models.JSONField(default=dict, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    # Lease for the background service: a claim older than AI_JOB_LEASE_SECONDS may be retaken.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The worker holding the lease (WorkerBeat.id): its lease ends early when it stops beating.
    claimed_by = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["session", "received_at"]
        constraints = [
            models.UniqueConstraint(fields=["session", "client_id"], name="response_client_id_unique"),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=0, score__lte=10),
                name="response_score_range",
            ),
        ]
        indexes = [models.Index(fields=["evaluation_status"])]

    def __str__(self) -> str:
        return f"answer {self.client_id} to {self.question_id}"


class AIInterviewResult(models.Model):
    session = models.OneToOneField(AIInterviewSession, on_delete=models.CASCADE, related_name="result")
    overall_score = models.FloatField(null=True, blank=True)
    competency_scores = models.JSONField(default=dict, blank=True)
    recommendation = models.CharField(max_length=30, choices=choices(Recommendation))
    summary = models.TextField(blank=True)
    strengths = models.JSONField(default=list, blank=True)
    weaknesses = models.JSONField(default=list, blank=True)
    insufficient_evidence_count = models.PositiveSmallIntegerField(default=0)
    # An interviewer ended the interview before every planned question was asked.
    ended_early = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Human review.
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    human_score = models.FloatField(null=True, blank=True)
    review_notes = models.TextField(blank=True)
    final_decision = models.CharField(max_length=30, choices=choices(Recommendation), blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"result of {self.session_id}"


class FrameLog(models.Model):
    """A session's log of pushed frames, each with its `seq` (unique per session): what a socket
    replays from on reconnect. The candidate's and the staff feed's are two such logs."""

    session_id: Any  # the subclass declares `session`
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=50)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["session", "seq"]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.seq} {self.type}"


class SessionFrame(FrameLog):
    """The log of frames pushed to the candidate: replayed from `seq` on reconnect."""

    session = models.ForeignKey(AIInterviewSession, on_delete=models.CASCADE, related_name="frames")

    class Meta(FrameLog.Meta):
        constraints = [models.UniqueConstraint(fields=["session", "seq"], name="frame_seq_unique")]


# --- audit -----------------------------------------------------------------------------------------


class AuditEvent(models.Model):
    """Who reviewed, exported, erased or re-graded what. Holds ids and counts, never personal
    data, so it survives the erasure of the people it mentions."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, choices=choices(AuditAction))
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["action", "created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name or 'system'} {self.action} {self.target_id}"


class WorkerBeat(models.Model):
    """A live AI worker: it rewrites `beat_at` every AI_WORKER_HEARTBEAT_SECONDS. A lease whose
    owner has not beaten for AI_WORKER_DEAD_AFTER_SECONDS belongs to a dead process and is taken
    over at once, instead of waiting out AI_JOB_LEASE_SECONDS."""

    id = models.CharField(max_length=100, primary_key=True)  # host:pid:random
    started_at = models.DateTimeField(auto_now_add=True)
    beat_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"worker {self.id}"


class FeedFrame(FrameLog):
    """The staff feed log of a session: what watching staff were pushed, replayed from `seq`."""

    session = models.ForeignKey(AIInterviewSession, on_delete=models.CASCADE, related_name="feed_frames")

    class Meta(FrameLog.Meta):
        constraints = [models.UniqueConstraint(fields=["session", "seq"], name="feed_frame_seq_unique")]


class IntegritySignal(models.Model):
    """One signal the candidate page reported (paste, focus lost/regained, first keystroke)."""

    session = models.ForeignKey(AIInterviewSession, on_delete=models.CASCADE, related_name="signals")
    question = models.ForeignKey(
        AIInterviewQuestion, null=True, blank=True, on_delete=models.CASCADE, related_name="signals"
    )
    kind = models.CharField(max_length=20, choices=choices(SignalKind))
    value = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "created_at"]

    def __str__(self) -> str:
        return f"{self.session_id} {self.kind} {self.value}"


class AdminAction(models.Model):
    """The audit trail of interviewers' live actions: who, when, what."""

    session = models.ForeignKey(AIInterviewSession, on_delete=models.CASCADE, related_name="admin_actions")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150)
    kind = models.CharField(max_length=20, choices=choices(ActionKind))
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "created_at"]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.kind} in {self.session_id}"
