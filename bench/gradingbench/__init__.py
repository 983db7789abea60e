"""The grading-quality benchmark, run as `bench/grading.py` (see docs/grading.md and bench/README.md).

config    paths, the sets and their test splits, the zero-shot targets
metrics   Pearson/Spearman, RMSE, quadratic weighted kappa, accuracy, macro-F1, thresholds
zeroshot  the grader, its previous version and the baseline scored on every row; per-set metrics; SAF CV
speed     the speed probe (its own process): latency, micro-batched throughput, RSS, machine load
reviews   the few-shot part: k reviewed answers per question (graded examples and leniency)
report    the zero-shot report's tables and target checks
plots     the PNGs
cli       the command line: main (bench/grading.py calls it); the protocol in its docstring

Importing the package puts the repository and bench/ on sys.path (for ai_service and fit_grader)
and keeps the model offline, before any of its modules imports them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = Path(__file__).resolve().parents[1]
for p in (str(REPO), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
