"""Latency summaries of the load benchmark: percentiles, ratios, number formatting."""

from __future__ import annotations

from typing import Any, Final

import numpy as np

# The percentiles are nearest-rank: the smallest sample with at least q of the samples at or below
# it (rank ceil(q*n)), always a measured value. numpy's "inverted_cdf" is that definition (checked
# equal for n = 1..100,000 at q = 0.5, 0.95, 0.99); its default, "linear", would interpolate.
PERCENTILE_METHOD: Final = "inverted_cdf"


def summary_ms(seconds: list[float]) -> dict[str, Any]:
    """count, min, mean, p50, p95, p99, max of durations in seconds, in ms (2 decimals)."""
    if not seconds:
        return {"count": 0, "min": None, "mean": None, "p50": None, "p95": None, "p99": None, "max": None}
    s = np.asarray(seconds, dtype=float) * 1000
    p50, p95, p99 = np.quantile(s, [0.50, 0.95, 0.99], method=PERCENTILE_METHOD)
    return {
        "count": len(s),
        "min": round(float(s.min()), 2),
        "mean": round(float(s.mean()), 2),
        "p50": round(float(p50), 2),
        "p95": round(float(p95), 2),
        "p99": round(float(p99), 2),
        "max": round(float(s.max()), 2),
    }


def ratio(a: float | None, b: float | None, digits: int = 2) -> float | None:
    if a is None or b is None or not b:
        return None
    return round(a / b, digits)


def fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}{unit}"
    return f"{v}{unit}"
