"""The consent and AI notice a candidate accepts before the first question.

One notice per interview, chosen in this order: the job's own text (`Job.consent_notice`, set in
the admin or `manage.py staff job ID --notice-file F`), else the deployment's
(`CONSENT_NOTICE_FILE`, a UTF-8 text file), else the default (`constants.CONSENT_NOTICE`). Its
version names the text: the default keeps its dated version, any other text is versioned by its
content (`job-…`, `site-…`), so a new text is a new version by construction. A session stores the
version its candidate accepted (`consent_version`) and keeps it when the text changes later.

`covers` lists what the server does and records during the interview, whatever the text says, so
a client can show it as a list beside the text (docs/protocol.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings

from .constants import CONSENT_NOTICE, CONSENT_NOTICE_VERSION

COVERS = (
    "ai_questions",  # an AI model chooses the questions
    "ai_grading",  # and grades each answer
    "human_decision",  # a person reviews the result and makes every decision
    "live_watching",  # staff may watch live, the answer as it is typed included
    "staff_actions",  # and message, give more time, add a question or end the interview
    "integrity_signals",  # paste, focus, time to first keystroke and to submit: shown, never scored
    "storage",  # answers and signals are stored with the result
)


@dataclass(frozen=True)
class Notice:
    version: str
    text: str
    covers: tuple[str, ...] = COVERS

    def payload(self) -> dict[str, Any]:
        return {"version": self.version, "text": self.text, "covers": list(self.covers)}


DEFAULT = Notice(CONSENT_NOTICE_VERSION, CONSENT_NOTICE)


def _versioned(prefix: str, text: str) -> Notice:
    return Notice(f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:12]}", text)


@lru_cache(maxsize=4)
def _from_file(path: str) -> Notice | None:
    text = Path(path).read_text(encoding="utf-8").strip()
    return _versioned("site", text) if text else None


def deployment_notice() -> Notice:
    path = getattr(settings, "CONSENT_NOTICE_FILE", "")
    return (_from_file(path) if path else None) or DEFAULT


def notice_for(job: Any) -> Notice:
    """The notice of an interview in `job` (a Job, or None for the deployment's)."""
    text = (getattr(job, "consent_notice", "") or "").strip()
    return _versioned("job", text) if text else deployment_notice()
