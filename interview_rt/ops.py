"""What a host needs from each web process: `/healthz` (alive), `/readyz` (ready to serve a
candidate; 503 with the reason otherwise) and `/metrics` (Prometheus text format).

None of them needs a login: keep them off the public internet at the load balancer or ingress
(they reveal no candidate data, only counts and timings).
"""

from __future__ import annotations

import asyncio

from django.http import HttpRequest, HttpResponse, JsonResponse

from interview_rt.interviews import selectors
from interview_rt.runtime import candidate_db, health, metrics, runtime


async def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and its event loop answers (no dependency is checked)."""
    return JsonResponse({"status": "ok"})


async def readyz(request: HttpRequest) -> JsonResponse:
    ready, report = await health.readiness(runtime)
    response = JsonResponse(report, status=200 if ready else 503)
    # A 503 here is an answer, not a server error: keep it out of django.request's error log
    # (a probe polls every few seconds while the model loads).
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


async def metrics_view(request: HttpRequest) -> HttpResponse:
    scrape_time: dict[str, tuple[str, float]] = {}
    try:
        async with asyncio.timeout(health.READY_CHECK_TIMEOUT):
            pending = await candidate_db(selectors.pending_evaluations)()
        scrape_time["interview_evaluations_pending"] = (
            "Acknowledged answers not yet graded (all processes; read from the database).",
            float(pending),
        )
    except Exception:
        pass  # the rest of the metrics still help when the database does not answer
    body, content_type = metrics.exposition(scrape_time)
    return HttpResponse(body, content_type=content_type)
