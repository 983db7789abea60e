"""The results files: the committed summary JSON and the git-ignored raw samples beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .config import ROOT

RAW_KEYS = ("answers_raw", "sessions_raw", "model_in_flight_samples", "staff_delays_raw")


# Per-sample lists: tens of thousands of lines per run, so they stay out of the committed summary.
RAW_TOP_LEVEL = RAW_KEYS


def raw_path(summary_path: Path) -> Path:
    return summary_path.parent / "raw" / summary_path.name


def split_report(report: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(summary, raw samples) of a full report; join_report puts them back together."""
    summary = {k: v for k, v in report.items() if k not in RAW_TOP_LEVEL}
    raw: dict[str, Any] = {"scenario": report.get("scenario"), "generated_at": report.get("generated_at")}
    raw.update({k: report[k] for k in RAW_TOP_LEVEL if k in report})
    if isinstance(report.get("echo"), dict) and "rtt_ms_raw" in report["echo"]:
        summary["echo"] = {k: v for k, v in report["echo"].items() if k != "rtt_ms_raw"}
        raw["echo_rtt_ms_raw"] = report["echo"]["rtt_ms_raw"]
    return summary, raw


def join_report(summary: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    report = dict(summary)
    report.update({k: raw[k] for k in RAW_TOP_LEVEL if k in raw})
    if isinstance(summary.get("echo"), dict) and "echo_rtt_ms_raw" in raw:
        report["echo"] = {**summary["echo"], "rtt_ms_raw": raw["echo_rtt_ms_raw"]}
    return report


def display_path(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def write_results(report: dict[str, Any], json_path: Path) -> Path:
    """Write the summary to json_path and the raw samples next to it under raw/; returns the latter."""
    summary, raw = split_report(report)
    samples = raw_path(json_path)
    summary["raw_samples"] = f"{display_path(samples)} (not committed)"
    samples.parent.mkdir(parents=True, exist_ok=True)
    samples.write_text(json.dumps(raw, default=str))
    json_path.write_text(json.dumps(summary, indent=1, default=str) + "\n")
    return samples


def load_results(json_path: Path) -> tuple[dict[str, Any], bool]:
    """The report in json_path with its raw samples when they are there: (report, has samples).
    A report written before the split carries its samples itself."""
    report = json.loads(json_path.read_text())
    if "answers_raw" in report:
        return report, True
    samples = raw_path(json_path)
    if not samples.exists():
        return report, False
    return join_report(report, json.loads(samples.read_text())), True
