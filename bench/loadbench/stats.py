"""Latency summaries of the load benchmark: percentiles, ratios, number formatting."""

from __future__ import annotations

import math
from typing import Any


def pct(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summary_ms(seconds: list[float]) -> dict[str, Any]:
    s = sorted(v * 1000 for v in seconds)
    if not s:
        return {"count": 0, "min": None, "mean": None, "p50": None, "p95": None, "p99": None, "max": None}
    return {
        "count": len(s),
        "min": round(s[0], 2),
        "mean": round(sum(s) / len(s), 2),
        "p50": round(pct(s, 0.50), 2),
        "p95": round(pct(s, 0.95), 2),
        "p99": round(pct(s, 0.99), 2),
        "max": round(s[-1], 2),
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
