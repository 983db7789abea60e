"""Settings for `bench/load.py --db-settings ...`: the local settings with the SQLite tuning varied.

Only for A/B measurements of the database configuration; the default benchmark run uses
`interview_rt.settings.local` with `DATABASE_URL=sqlite:///...` unchanged. BENCH_DB_VARIANT:

* `tuned`: the OPTIONS `interview_rt.settings.base.database_config()` applies when DATABASE_URL is
  unset (WAL, synchronous=NORMAL, IMMEDIATE transactions, 20 s busy timeout), CONN_MAX_AGE 0 as
  there; i.e. the embedded default, but on the benchmark's temp file.
* `tuned-persistent`: the same plus CONN_MAX_AGE=None (one connection kept by the DB thread
  instead of a new SQLite connection for every `database_sync_to_async` call).
* `persistent`: DATABASE_URL as parsed (no SQLite OPTIONS) plus CONN_MAX_AGE=None.
"""

from __future__ import annotations

import os

from interview_rt.settings.local import *  # noqa: F403
from interview_rt.settings.local import DATABASES

_variant = os.environ.get("BENCH_DB_VARIANT", "tuned")
_db = DATABASES["default"]
if _db.get("ENGINE") == "django.db.backends.sqlite3" and _variant.startswith("tuned"):
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
if _variant in ("tuned-persistent", "persistent"):
    _db["CONN_MAX_AGE"] = None
