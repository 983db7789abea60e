"""Privacy: the audit of exports (erasure, retention and the self-reported group follow)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from . import audit
from .constants import AuditAction

# --- exports --------------------------------------------------------------------------------------


def export_record(*, actor: Any, kind: str, filters: dict[str, Any], target_id: str = "") -> None:
    """Audit an export of personal data (CSV, printable report) before it is served."""
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.EXPORTED,
            target_type=kind,
            target_id=target_id,
            details={"filters": filters},
        )
