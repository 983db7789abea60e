"""Prometheus metrics of one process, and the exposition `/metrics` serves.

Multi-process: when `PROMETHEUS_MULTIPROC_DIR` is set (before the process starts; prometheus-client
reads it at import), every process (each daphne, `manage.py ai_worker`) writes its samples to
files in that directory and `/metrics` of any web process reports the sum over all of them
(`MultiProcessCollector`). The directory must be emptied when the host (re)starts its processes.
Without it, `/metrics` reports this process only.

What is counted where:
- sockets and frames: the candidate consumer (`consumers/candidate.py`);
- answer -> ack: the consumer, from the frame's arrival to the ack's send;
- answer -> feedback: the AI worker, from the answer's `received_at` to the feedback's commit;
- provider calls, errors, fallbacks and latency: the AI worker, from what the provider returned
  (its provenance) or raised;
- grader batches: the AI process (`interview_rt.aiproc.child`) reports each batch it graded;
- pending evaluations: counted in the database at scrape time (one indexed COUNT).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
# No `*_created` series: they double the output and no dashboard here uses them.
disable_created_metrics()

# Latency buckets from a few ms (an ack on an idle server) to the slow model's tens of seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

WS_CONNECTED = Gauge("interview_ws_connected", "Candidate sockets open now.", multiprocess_mode="livesum")
WS_CONNECTS = Counter("interview_ws_connects_total", "Candidate socket connects, by outcome.", ["outcome"])
FRAMES_IN = Counter("interview_ws_frames_in_total", "Frames received from candidates, by type.", ["type"])
FRAMES_OUT = Counter("interview_ws_frames_out_total", "Frames sent to candidates, by type.", ["type"])
ANSWER_ACK = Histogram(
    "interview_answer_ack_seconds",
    "An answer frame's arrival to its answer.accepted being sent (this server).",
    buckets=LATENCY_BUCKETS,
)
ANSWER_FEEDBACK = Histogram(
    "interview_answer_feedback_seconds",
    "An answer's receipt to its evaluation (and answer.feedback) being committed.",
    buckets=LATENCY_BUCKETS,
)
FIRST_QUESTION = Histogram(
    "interview_first_question_seconds",
    "A session's creation to its questions being stored and the first one asked.",
    buckets=LATENCY_BUCKETS,
)
JOBS_IN_PROGRESS = Gauge(
    "interview_ai_jobs_in_progress", "AI jobs this worker holds, by kind.", ["kind"], multiprocess_mode="livesum"
)
PROVIDER_CALLS = Counter(
    "interview_provider_calls_total", "Calls to the AI provider, by job kind and provider.", ["kind", "provider"]
)
PROVIDER_ERRORS = Counter(
    "interview_provider_errors_total", "AI provider calls that failed, by job kind and error kind.", ["kind", "error"]
)
PROVIDER_FALLBACKS = Counter(
    "interview_provider_fallbacks_total",
    "Results produced by a fallback (primary failed, or the grader fell back), by kind and the primary's error.",
    ["kind", "error"],
)
PROVIDER_LATENCY = Histogram(
    "interview_provider_seconds", "AI provider call duration, by job kind.", ["kind"], buckets=LATENCY_BUCKETS
)
LEASES_RELEASED = Counter(
    "interview_ai_leases_released_total", "AI job leases given back (failed attempt or shutdown), by kind.", ["kind"]
)
GRADER_BATCH_SIZE = Histogram(
    "interview_grader_batch_size",
    "Answers per grading model batch.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
GRADER_BATCH_SECONDS = Histogram(
    "interview_grader_batch_seconds",
    "Wall time of one grading model batch.",
    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
)
DB_WAIT = Histogram(
    "interview_db_lane_wait_seconds",
    "Time an ORM call waited for its database thread, by lane.",
    ["lane"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)

# Label children of the hot paths, resolved once.
_frames_in: dict[str, Counter] = {}
_frames_out: dict[str, Counter] = {}


def frame_in(frame_type: str) -> None:
    child = _frames_in.get(frame_type)
    if child is None:
        child = _frames_in[frame_type] = FRAMES_IN.labels(frame_type)
    child.inc()


def frame_out(frame_type: str) -> None:
    child = _frames_out.get(frame_type)
    if child is None:
        child = _frames_out[frame_type] = FRAMES_OUT.labels(frame_type)
    child.inc()


@functools.lru_cache(maxsize=256)
def child(metric: Counter | Gauge | Histogram, *labels: str) -> Any:
    """A labelled child, resolved once per label values (labels() is not free on a hot path)."""
    return metric.labels(*labels)


def observe_batches(batches: Iterable[tuple[int, float]]) -> None:
    """Grader batches as (answers, seconds), reported by the AI process."""
    for size, seconds in batches:
        GRADER_BATCH_SIZE.observe(size)
        GRADER_BATCH_SECONDS.observe(seconds)


class ScrapeTimeGauges(Collector):
    """Gauges read when scraped (e.g. from the database), so each process reports the same
    truth and the multi-process sum does not multiply it."""

    def __init__(self, values: dict[str, tuple[str, float]]) -> None:
        self.values = values

    def collect(self) -> Iterable[GaugeMetricFamily]:
        for name, (doc, value) in self.values.items():
            yield GaugeMetricFamily(name, doc, value=value)


def exposition(scrape_time: dict[str, tuple[str, float]] | None = None) -> tuple[bytes, str]:
    """The text `/metrics` returns: every process's metrics (multi-process mode) or this one's,
    plus the scrape-time gauges."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry)
    if scrape_time:
        extra = CollectorRegistry()
        extra.register(ScrapeTimeGauges(scrape_time))
        body += generate_latest(extra)
    return body, CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """Multi-process mode: drop a dead process's live gauges (called for the AI process child)."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(pid)
