"""Tests: file-based SQLite (async tests share it across threads), fast password hashing."""

import os

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES

DEBUG = False
DATABASES["default"].setdefault("TEST", {})
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"]["NAME"] = str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AI_WORKER_SWEEP_SECONDS = 0.5
AI_WARM_UP = False
# Rate limits are tested where they are the subject (tests/test_rate_limits.py).
RATE_LIMITS_ENABLED = False
# Most tests are about the flow after consent; tests of consent turn it on.
INTERVIEW_REQUIRE_CONSENT = False
AI_PROCESS = False
