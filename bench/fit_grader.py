"""Refit the semantic grader's calibration on the `train` splits of the human-graded sets.

    .venv/bin/python bench/fit_grader.py [--data-dir ../shared/data] [--max-per-set N] [--l2 5]

Reads semeval2013_2way.csv (sciEntsBank and beetle as two sets) and saf_cn_english.csv, runs the
grader's checks and features (ai_service.grading.semantic.analyze_many) on the train rows only,
fits the logistic calibration (ai_service.grading.calibration.fit) and writes
ai_service/grading/semantic_calibration.json. Answers the checks mark as insufficient evidence
are left out of the fit (they get no score). Test splits are never read for fitting.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from ai_service.grading import calibration, semantic  # noqa: E402
from ai_service.grading.features import FEATURE_NAMES  # noqa: E402
from ai_service.grading.types import GradeInput  # noqa: E402

DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"
SETS = ("sciEntsBank", "beetle", "saf")
DEFAULT_L2 = 5.0


@dataclass(frozen=True)
class Row:
    set: str
    split: str
    question_id: str
    item: GradeInput
    score: float
    score_max: float

    @property
    def target(self) -> float:
        return min(1.0, max(0.0, self.score / self.score_max)) if self.score_max > 0 else 0.0


def load_rows(data_dir: Path) -> list[Row]:
    """All rows of both files; SemEval's corpora become the sets `sciEntsBank` and `beetle`."""
    rows: list[Row] = []
    files = {"semeval2013_2way.csv": None, "saf_cn_english.csv": "saf"}
    for name, fixed_set in files.items():
        path = data_dir / name
        if not path.is_file():
            raise SystemExit(f"missing {path}; pass --data-dir (the shared data directory)")
        with path.open(encoding="utf-8", newline="") as handle:
            for raw in csv.DictReader(handle):
                alternatives: tuple[str, ...] = ()
                if raw.get("all_reference_answers"):
                    refs = [r.strip() for r in raw["all_reference_answers"].split(" || ") if r.strip()]
                    alternatives = tuple(r for r in refs if r != raw["reference_answer"])
                rows.append(
                    Row(
                        set=fixed_set or raw["corpus"],
                        split=raw["split"],
                        question_id=raw["question_id"],
                        item=GradeInput(
                            question=raw["question"],
                            reference_answer=raw["reference_answer"],
                            answer=raw["answer"],
                            alternative_references=alternatives,
                        ),
                        score=float(raw["score"]),
                        score_max=float(raw["score_max"]),
                    )
                )
    return rows


def subsample(rows: Sequence[Row], max_per_set: int | None, seed: int = 13) -> list[Row]:
    if not max_per_set:
        return list(rows)
    rng = random.Random(seed)
    out: list[Row] = []
    for name in SETS:
        members = [r for r in rows if r.set == name]
        out.extend(members if len(members) <= max_per_set else rng.sample(members, max_per_set))
    return out


def analyze(rows: Sequence[Row], desc: str, batch: int = 256) -> list[semantic.Analysis]:
    results: list[semantic.Analysis] = []
    with tqdm(total=len(rows), desc=desc, unit="ans", file=sys.stderr) as bar:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            results.extend(semantic.analyze_many([r.item for r in chunk]))
            bar.update(len(chunk))
    return results


def feature_matrix(analyses: Iterable[semantic.Analysis]) -> np.ndarray:
    width = len(FEATURE_NAMES)
    return np.array(
        [[a.features.values[n] for n in FEATURE_NAMES] if a.features else [np.nan] * width for a in analyses]
    )


def fit_from(
    rows: Sequence[Row], analyses: Sequence[semantic.Analysis], l2: float, note: str = ""
) -> calibration.Calibration:
    keep = [i for i, a in enumerate(analyses) if not a.reason and a.features is not None]
    x = feature_matrix(analyses[i] for i in keep)
    y = np.array([rows[i].target for i in keep])
    groups = [rows[i].set for i in keep]
    fitted_on = {
        "splits": "train",
        "rows": {name: sum(1 for g in groups if g == name) for name in SETS},
        "left_out_insufficient": len(rows) - len(keep),
        "targets": "score / score_max (soft labels)",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    if note:
        fitted_on["note"] = note
    return calibration.fit(x, y, groups, FEATURE_NAMES, semantic.VERSION, l2=l2, fitted_on=fitted_on)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--max-per-set", type=int, default=0, help="subsample each set's train split (0: all)")
    parser.add_argument("--l2", type=float, default=DEFAULT_L2)
    parser.add_argument("--output", type=Path, default=calibration.PARAMS_PATH)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    train = subsample([r for r in load_rows(args.data_dir) if r.split == "train"], args.max_per_set)
    semantic.encoder.load_encoder()
    analyses = analyze(train, "features (train)")
    params = fit_from(train, analyses, args.l2)
    calibration.save(params, args.output)
    print(f"wrote {args.output} ({len(train)} train answers, {time.perf_counter() - started:.0f}s)")
    for name, weight in zip(params.features, params.weights, strict=True):
        print(f"  {name:18s} {weight:+.3f}")
    print("  intercepts", {k: round(v, 3) for k, v in params.intercepts.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
