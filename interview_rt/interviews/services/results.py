"""A result's human review."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import audit, signals
from ..constants import (
    AuditAction,
)
from ..errors import ErrorCode, InterviewError
from ..models import (
    AIInterviewResult,
)
from ..rows import Id, parse_uuid


def result_review(
    *, session_id: Id, reviewer: Any, human_score: float | None, notes: str, final_decision: str
) -> AIInterviewResult:
    result = AIInterviewResult.objects.filter(session_id=parse_uuid(session_id, "session_id")).first()
    if result is None:
        raise InterviewError(ErrorCode.NOT_FOUND, "This session has no result yet.")
    with transaction.atomic():
        result.reviewer = reviewer
        result.human_score = human_score
        result.review_notes = notes
        result.final_decision = final_decision
        result.reviewed_at = timezone.now()
        result.save()
        audit.record(
            actor=reviewer,
            action=AuditAction.RESULT_REVIEWED,
            target_type="session",
            target_id=str(result.session_id),
            details={"human_score": human_score, "final_decision": final_decision},
        )
        signals.result_reviewed.send(AIInterviewResult, result=result)
    return result
