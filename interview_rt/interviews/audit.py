"""The audit log: one row per review, export, erasure, purge, calibration and re-grade.

Services call `record` inside their own transaction, so an audited action and its audit row
commit together. `details` must hold ids and counts only: the log outlives the people it names
(an erasure deletes their rows, not the fact that they were erased).
"""

from __future__ import annotations

from typing import Any

from .constants import AuditAction
from .models import AuditEvent


def actor_of(user: Any) -> tuple[Any, str]:
    """(user row or None, username) for a request's user, a user row, or None (the system)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None, ""
    return user, user.get_username()


def record(
    *,
    actor: Any,
    action: AuditAction,
    target_type: str = "",
    target_id: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    user, name = actor_of(actor)
    return AuditEvent.objects.create(
        actor=user,
        actor_name=name,
        action=str(action),
        target_type=target_type,
        target_id=target_id[:64],
        details=details or {},
    )
