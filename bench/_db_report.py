"""Read what the server stored after a load run (helper of bench/load.py); prints one JSON object.

Evaluation provenance (`AIInterviewResponse.fallback_used`, `provider`, `error_kind`,
`evaluation_latency_ms`) is not sent in frames, so the benchmark reads it here.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def percentiles(values: list[float]) -> dict[str, float | None]:
    """Nearest-rank percentiles (numpy's "inverted_cdf": rank ceil(q*n), a measured value), as in
    bench/loadbench/stats.py."""
    if not values:
        return {"count": 0, "p50": None, "p95": None, "p99": None, "max": None}
    # .item(): the sample as the DB gave it (an int stays an int in the JSON)
    p50, p95, p99 = (round(v.item(), 2) for v in np.quantile(values, [0.50, 0.95, 0.99], method="inverted_cdf"))
    return {"count": len(values), "p50": p50, "p95": p95, "p99": p99, "max": round(max(values), 2)}


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--exclude-invitation",
        action="append",
        default=[],
        help="leave this invitation's session out (the benchmark's warm-up session)",
    )
    parser.add_argument(
        "--acked",
        help="JSON file: the client_ids the clients saw acknowledged; checks each is stored exactly once",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from interview_rt.interviews.models import (
        AIInterviewQuestion,
        AIInterviewResponse,
        AIInterviewResult,
        AIInterviewSession,
        SessionFrame,
    )

    excluded = args.exclude_invitation
    sessions_qs = AIInterviewSession.objects.exclude(invitation_id__in=excluded)
    responses = list(
        AIInterviewResponse.objects.exclude(session__invitation_id__in=excluded).values(
            "evaluation_status",
            "fallback_used",
            "provider",
            "model_name",
            "error_kind",
            "attempts",
            "evaluation_latency_ms",
            "is_late",
        )
    )
    questions = list(
        AIInterviewQuestion.objects.exclude(session__invitation_id__in=excluded).values_list("provenance", flat=True)
    )
    report = {
        "excluded_invitations": excluded,
        "sessions": sessions_qs.count(),
        "sessions_by_status": dict(Counter(sessions_qs.values_list("status", flat=True))),
        "sessions_with_generation_error": sessions_qs.exclude(generation_error="").count(),
        "results": AIInterviewResult.objects.exclude(session__invitation_id__in=excluded).count(),
        "frames_logged": SessionFrame.objects.exclude(session__invitation_id__in=excluded).count(),
        "responses": len(responses),
        "responses_by_status": dict(Counter(r["evaluation_status"] for r in responses)),
        "fallback_used": sum(1 for r in responses if r["fallback_used"]),
        "late": sum(1 for r in responses if r["is_late"]),
        "by_provider": dict(Counter(f"{r['provider']}/{r['model_name']}" for r in responses)),
        "error_kinds": dict(Counter(r["error_kind"] for r in responses if r["error_kind"])),
        "attempts": dict(Counter(str(r["attempts"]) for r in responses)),
        # As the provider measured it: includes the wait for its concurrency slot.
        "evaluation_latency_ms": percentiles(
            [float(r["evaluation_latency_ms"]) for r in responses if r["evaluation_latency_ms"] is not None]
        ),
        "questions": len(questions),
        "question_providers": dict(Counter(str((p or {}).get("provider", "")) for p in questions)),
        # Counted when worker.generate() stores it in the question's provenance.
        "question_fallback_used": sum(1 for p in questions if (p or {}).get("fallback_used")),
        "question_generation_latency_ms": percentiles(
            [float(p["latency_ms"]) for p in questions if isinstance(p, dict) and p.get("latency_ms") is not None]
        ),
    }
    if args.acked:
        report["exactly_once"] = exactly_once(json.loads(Path(args.acked).read_text()))
    print(json.dumps(report))
    return 0


def exactly_once(acked: list[str]) -> dict[str, object]:
    """Every answer a client saw acknowledged must be one row, with one `answer.accepted` frame in
    its session's log, and graded (done or, after the last attempt, failed)."""
    from django.db.models import Count

    from interview_rt.interviews.models import AIInterviewResponse, SessionFrame

    rows: dict[str, int] = {}
    graded: dict[str, str] = {}
    frames: dict[str, int] = {}
    chunk = 500
    for i in range(0, len(acked), chunk):
        ids = acked[i : i + chunk]
        for r in AIInterviewResponse.objects.filter(client_id__in=ids).values("client_id", "evaluation_status"):
            rows[r["client_id"]] = rows.get(r["client_id"], 0) + 1
            graded[r["client_id"]] = r["evaluation_status"]
        counted = (
            SessionFrame.objects.filter(type="answer.accepted", payload__client_id__in=ids)
            .values("payload__client_id")
            .annotate(n=Count("id"))
        )
        for f in counted:
            frames[f["payload__client_id"]] = f["n"]
    lost = [c for c in acked if rows.get(c, 0) == 0]
    duplicated = [c for c in acked if rows.get(c, 0) > 1 or frames.get(c, 0) > 1]
    return {
        "acked": len(acked),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "not_graded": sum(1 for c in acked if graded.get(c) not in ("done", "failed")),
        "examples": {"lost": lost[:5], "duplicated": duplicated[:5]},
    }


if __name__ == "__main__":
    raise SystemExit(main())
