"""Measure the semantic grader against human grades, beside the plain MiniLM-cosine baseline, and
how much reviewed answers (graded examples and the team's leniency) improve it.

    .venv/bin/python bench/grading.py [--data-dir ../shared/data] [--train-per-set N] [--skip-speed]
                                      [--part all|zeroshot|fewshot] [--draws 20]

Sets: SemEval-2013 2-way (sciEntsBank and beetle, from semeval2013_2way.csv) and SAF English
(saf_cn_english.csv), read from --data-dir (default: ../shared/data beside the repository); the
data is never copied into the repository.

Protocol (nothing is fitted on a test split):
- grader: the shipped calibration (ai_service/grading/semantic_calibration.json, fitted on the
  train splits by bench/fit_grader.py) with the set's own intercept (profile); answers the grader
  marks as insufficient evidence count as score 0 / incorrect.
- baseline: cosine of the MiniLM embeddings of answer and (first) reference answer, linearly
  calibrated on the set's train split (least squares of score/score_max on the cosine).
- 2-way sets: the accuracy/macro-F1 threshold of each method is the one that maximises macro-F1
  on the set's train split.
- metrics per set and test split: Pearson and Spearman of the predicted and human score, RMSE on
  the set's own scale (score_max points), quadratic weighted kappa (2-way: on the predicted label;
  SAF: on score/score_max rounded to quarters, 5 levels), accuracy and macro-F1 (2-way only).
- SAF train, grouped 5-fold cross-validation by question (4 seeds): the calibration refitted
  without the fold's questions, scored on them; an estimate of unseen-question behaviour over
  more than the 5 questions of the unseen_questions split.
- speed (in a fresh subprocess that only loads the grader, with the service's settings):
  p50/p95 latency of one answer graded alone (SemEval and SAF test answers, reference encodings
  cached as in service), the same through the micro-batcher, throughput of 64 concurrent
  `await batcher.grade()` callers, the process RSS, and how busy the machine was (the share of
  the CPUs other processes used), since a shared machine skews every timing.

--train-per-set subsamples each train split (the baseline fit, the thresholds and the CV use it);
0 (the default) uses all of it. Writes bench/results/grading.txt and grading_calibration.png.

Few-shot part (learning from reviews; ai_service/grading/fewshot.py and leniency.py), per set and
test split, for k = 0, 3, 5, 10 reviewed answers per question:
- unseen-answers splits: the k reviewed answers of a question are drawn from its train answers;
  every test answer is scored. Unseen-questions/-domains splits (no train answers exist): per
  question 10 test answers are set aside, k of them reviewed, the other answers scored (the same
  answers for every k of a draw).
- the team's leniency is fitted on the reviewed answers of all the split's questions (zero-shot
  score vs human score); k = 0 means no reviews, i.e. the shipped grader (default profile) as a
  new team gets it. Scores go through the service's own code (fewshot.combine, fit_leniency).
- metrics on 0..10 (human score / score_max x 10): Pearson, RMSE, quadratic weighted kappa (2-way:
  pass at 5; SAF: quarters of the points), mean bias (predicted - human), each the mean over
  --draws random draws of the reviewed answers (the sd of Pearson and RMSE over draws is shown).
- with --part fewshot only, each question's train answers are subsampled to 40 (the pool the
  reviewed answers are drawn from), which keeps the run to a few minutes.
Writes bench/results/grading_fewshot.txt, grading_fewshot.json and grading_fewshot.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for p in (str(REPO), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import fit_grader  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
from scipy.stats import pearsonr, spearmanr  # noqa: E402
from tqdm import tqdm  # noqa: E402

from ai_service.grading import calibration, encoder, fewshot, semantic  # noqa: E402
from ai_service.grading.batcher import MAX_BATCH, MAX_CONCURRENT, MicroBatcher  # noqa: E402
from ai_service.grading.types import GradeInput  # noqa: E402

RESULTS = BENCH / "results"
# The previous grader version's calibration, scored live on the same features beside the shipped one
# (its feature list is a prefix of today's, so the same analyses serve both).
PREVIOUS = BENCH / "reference" / "semantic-1_calibration.json"
TWO_WAY = ("sciEntsBank", "beetle")
TEST_SPLITS = {
    "sciEntsBank": ("test-unseen-answers", "test-unseen-questions", "test-unseen-domains"),
    "beetle": ("test-unseen-answers", "test-unseen-questions"),
    "saf": ("unseen_answers", "unseen_questions"),
}
TARGETS = "SAF: Pearson >= baseline + 0.10; SemEval: macro-F1 >= baseline + 0.05; sciEntsBank UQ macro-F1 >= 0.72"


@dataclass
class Scored:
    rows: list[fit_grader.Row]
    probability: np.ndarray  # grader, 0..1 (0 for insufficient evidence)
    previous: np.ndarray  # the previous grader version, same convention
    default: np.ndarray  # the grader with the default profile (what a new team sees), 0..1
    previous_default: np.ndarray
    insufficient: np.ndarray  # bool
    cosine: np.ndarray  # baseline input
    target: np.ndarray  # human score / score_max
    score_max: np.ndarray


# ---------------------------------------------------------------- metrics


def macro_f1(y: np.ndarray, p: np.ndarray) -> float:
    scores = []
    for c in (0, 1):
        tp = int(((p == c) & (y == c)).sum())
        fp = int(((p == c) & (y != c)).sum())
        fn = int(((p != c) & (y == c)).sum())
        scores.append(2 * tp / max(1, 2 * tp + fp + fn))
    return float(np.mean(scores))


def best_threshold(s: np.ndarray, y: np.ndarray) -> float:
    candidates = np.unique(np.quantile(s, np.linspace(0.01, 0.99, 197)))
    return float(max(candidates, key=lambda t: macro_f1(y, (s >= t).astype(int))))


def qwk(a: np.ndarray, b: np.ndarray, levels: int) -> float:
    """Quadratic weighted kappa of two integer ratings in 0..levels-1."""
    observed = np.zeros((levels, levels))
    for i, j in zip(a, b, strict=True):
        observed[int(i), int(j)] += 1
    weights = np.array([[(i - j) ** 2 for j in range(levels)] for i in range(levels)]) / (levels - 1) ** 2
    expected = np.outer(observed.sum(1), observed.sum(0)) / max(1, observed.sum())
    denominator = (weights * expected).sum()
    return float(1 - (weights * observed).sum() / denominator) if denominator else 0.0


def correlation(fn: object, a: np.ndarray, b: np.ndarray) -> float:
    if np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(fn(a, b)[0])  # type: ignore[operator]


def metrics(pred: np.ndarray, label: np.ndarray | None, target: np.ndarray, score_max: np.ndarray) -> dict[str, float]:
    """pred: predicted score/score_max in 0..1; label: predicted 0/1 (2-way sets) or None."""
    out = {
        "pearson": correlation(pearsonr, pred, target),
        "spearman": correlation(spearmanr, pred, target),
        "rmse": float(np.sqrt(np.mean(((pred - target) * score_max) ** 2))),
    }
    if label is not None:
        y = (target >= 0.5).astype(int)
        out["qwk"] = qwk(label, y, 2)
        out["accuracy"] = float((label == y).mean())
        out["macro_f1"] = macro_f1(y, label)
    else:
        out["qwk"] = qwk(np.rint(pred * 4).astype(int), np.rint(target * 4).astype(int), 5)
    return out


# ---------------------------------------------------------------- scoring


def score_rows(rows: Sequence[fit_grader.Row], analyses: Sequence[semantic.Analysis]) -> Scored:
    params = calibration.load()
    old = calibration.load(PREVIOUS)
    enc = encoder.load_encoder()
    probability = np.zeros(len(rows))
    previous = np.zeros(len(rows))
    default = np.zeros(len(rows))
    previous_default = np.zeros(len(rows))
    insufficient = np.zeros(len(rows), dtype=bool)
    cosine = np.full(len(rows), np.nan)
    for i, (row, analysis) in enumerate(zip(rows, analyses, strict=True)):
        if analysis.reason or analysis.features is None:
            insufficient[i] = True
        else:
            values = analysis.features.values
            probability[i] = params.probability(values, row.set)
            previous[i] = old.probability(values, row.set)
            default[i] = params.probability(values)
            previous_default[i] = old.probability(values)
        if "baseline_cosine" in analysis.extra:
            cosine[i] = analysis.extra["baseline_cosine"]
    # The baseline needs a cosine for the answers the grader skipped before encoding them.
    missing = [i for i in range(len(rows)) if np.isnan(cosine[i])]
    if missing:
        answers = enc.encode([rows[i].item.answer for i in missing])
        references = enc.encode_cached([rows[i].item.reference_answer for i in missing])
        for i, a, r in zip(missing, answers, references, strict=True):
            cosine[i] = float(a.vec @ r.vec)
    return Scored(
        rows=list(rows),
        probability=probability,
        previous=previous,
        default=default,
        previous_default=previous_default,
        insufficient=insufficient,
        cosine=cosine,
        target=np.array([r.target for r in rows]),
        score_max=np.array([r.score_max for r in rows]),
    )


def select(scored: Scored, mask: np.ndarray) -> Scored:
    idx = np.flatnonzero(mask)
    return Scored(
        rows=[scored.rows[i] for i in idx],
        probability=scored.probability[idx],
        previous=scored.previous[idx],
        default=scored.default[idx],
        previous_default=scored.previous_default[idx],
        insufficient=scored.insufficient[idx],
        cosine=scored.cosine[idx],
        target=scored.target[idx],
        score_max=scored.score_max[idx],
    )


def evaluate_set(name: str, train: Scored, tests: dict[str, Scored]) -> list[dict[str, object]]:
    a, b = np.polyfit(train.cosine, train.target, 1)
    two_way = name in TWO_WAY
    y_train = (train.target >= 0.5).astype(int)
    t_grader = best_threshold(train.probability, y_train) if two_way else 0.5
    t_previous = best_threshold(train.previous, y_train) if two_way else 0.5
    t_base = best_threshold(train.cosine, y_train) if two_way else 0.0
    lines: list[dict[str, object]] = []
    for split, test in tests.items():
        base_pred = np.clip(a * test.cosine + b, 0, 1)
        grader = metrics(
            test.probability,
            (test.probability >= t_grader).astype(int) if two_way else None,
            test.target,
            test.score_max,
        )
        previous = metrics(
            test.previous,
            (test.previous >= t_previous).astype(int) if two_way else None,
            test.target,
            test.score_max,
        )
        base = metrics(base_pred, (test.cosine >= t_base).astype(int) if two_way else None, test.target, test.score_max)
        # A new team's view: the default profile, no reviews; RMSE and bias on a 0..5 scale.
        zero_shot = {
            "pearson": correlation(pearsonr, test.default, test.target),
            "rmse5": float(np.sqrt(np.mean((5 * (test.default - test.target)) ** 2))),
            "bias5": float(np.mean(5 * (test.default - test.target))),
            "previous_pearson": correlation(pearsonr, test.previous_default, test.target),
            "previous_rmse5": float(np.sqrt(np.mean((5 * (test.previous_default - test.target)) ** 2))),
            "previous_bias5": float(np.mean(5 * (test.previous_default - test.target))),
        }
        lines.append(
            {
                "set": name,
                "split": split,
                "n": len(test.rows),
                "insufficient": int(test.insufficient.sum()),
                "grader": grader,
                "previous": previous,
                "baseline": base,
                "zero_shot": zero_shot,
            }
        )
    return lines


def saf_cv(train_rows: list[fit_grader.Row], analyses: list[semantic.Analysis], seeds: int = 4) -> dict[str, float]:
    """Grouped 5-fold CV by question on the train splits; Pearson on the SAF fold (about 5 questions)."""
    keep = [i for i, a in enumerate(analyses) if not a.reason and a.features is not None]
    rows = [train_rows[i] for i in keep]
    kept = [analyses[i] for i in keep]
    x = fit_grader.feature_matrix(kept)
    y = np.array([r.target for r in rows])
    sets = np.array([r.set for r in rows])
    questions = np.array([f"{r.set}/{r.question_id}" for r in rows])
    cosine = np.array([a.extra["baseline_cosine"] for a in kept])
    previous_names = calibration.load(PREVIOUS).features
    previous_cols = [semantic.FEATURE_NAMES.index(n) for n in previous_names]
    variants = {
        "grader": (list(range(x.shape[1])), semantic.FEATURE_NAMES),
        "previous": (previous_cols, previous_names),
    }
    found: dict[str, list[float]] = {"grader": [], "previous": [], "baseline": []}
    for seed in range(seeds):
        order = np.random.RandomState(seed).permutation(np.unique(questions))
        fold_of = {q: i % 5 for i, q in enumerate(order)}
        fold = np.array([fold_of[q] for q in questions])
        for k in range(5):
            fit_mask = fold != k
            test = (fold == k) & (sets == "saf")
            for name, (cols, names) in variants.items():
                params = calibration.fit(
                    x[fit_mask][:, cols],
                    y[fit_mask],
                    list(sets[fit_mask]),
                    names,
                    semantic.VERSION,
                    l2=calibration.load().l2,
                )
                z = (x[test][:, cols] - np.array(params.mean)) / np.array(params.scale)
                logit = z @ np.array(params.weights) + params.intercept("saf")
                found[name].append(correlation(pearsonr, logit, y[test]))
            found["baseline"].append(correlation(pearsonr, cosine[test], y[test]))
    out = {"folds": float(len(found["grader"]))}
    for name, values in found.items():
        out[f"{name}_mean"] = float(np.nanmean(values))
        out[f"{name}_sd"] = float(np.nanstd(values))
    return out


# ---------------------------------------------------------------- speed (fresh process)


def rss_mb() -> float:
    """This process's resident set size (VmRSS) in MiB."""
    return float(psutil.Process().memory_info().rss) / 2**20


def cpu_busy_total() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot; busy is all but idle and iowait."""
    t = psutil.cpu_times()
    total = float(sum(t))
    return total - t.idle - getattr(t, "iowait", 0.0), total


class CpuWatch:
    """Wall time, this process's CPU time and the machine's busy share over a block of work."""

    def __enter__(self) -> CpuWatch:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        self.machine = cpu_busy_total()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        busy, total = cpu_busy_total()
        self.machine_busy = (busy - self.machine[0]) / max(1e-9, total - self.machine[1])
        cores = os.cpu_count() or 1
        self.own_share = self.cpu / max(1e-9, self.wall * cores)


def speed_probe(data_dir: Path, n_single: int, n_batched: int) -> dict[str, float]:
    """Runs in its own process: load the grader, then time single and batched grading.

    Answers come from the test splits: "short" = SemEval answers (like short interview answers),
    "long" = SAF answers (several sentences). References and key points are cached first, as they
    are in service (one question serves many answers).
    """
    started = time.perf_counter()
    semantic.warm_up()
    load_s = time.perf_counter() - started
    rss_loaded = rss_mb()
    rows = [r for r in fit_grader.load_rows(data_dir) if r.split != "train"]
    rng = random.Random(7)
    short = [r.item for r in rng.sample([r for r in rows if r.set != "saf"], n_batched)]
    long = [r.item for r in rng.sample([r for r in rows if r.set == "saf"], min(n_batched // 4, 479))]
    warm = [GradeInput(i.question, i.reference_answer, "warm", i.key_points, i.alternative_references) for i in short]
    warm += [GradeInput(i.question, i.reference_answer, "warm", i.key_points) for i in long]
    for start in range(0, len(warm), 64):
        semantic.grade_many(warm[start : start + 64])
    for item in short[:20]:  # warm the code paths
        semantic.grade(item)
    times: list[float] = []
    cpu_times: list[float] = []
    with CpuWatch() as single_watch:
        for item in short[:n_single]:
            t0 = time.perf_counter()
            c0 = time.process_time()
            semantic.grade(item)
            times.append((time.perf_counter() - t0) * 1000)
            cpu_times.append((time.process_time() - c0) * 1000)
    long_times = []
    for item in long[:50]:
        t0 = time.perf_counter()
        semantic.grade(item)
        long_times.append((time.perf_counter() - t0) * 1000)

    async def concurrent(items: list[GradeInput], concurrency: int) -> tuple[float, float, list[int]]:
        batcher: MicroBatcher[GradeInput, object] = MicroBatcher(semantic.grade_many)
        queue = list(items)
        latencies: list[float] = []

        async def caller() -> None:
            while queue:
                item = queue.pop()
                t0 = time.perf_counter()
                await batcher.grade(item)
                latencies.append((time.perf_counter() - t0) * 1000)

        t0 = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
        batcher.close()
        return len(items) / elapsed, statistics.median(latencies), list(batcher.batch_sizes)

    async def via_batcher_single(items: list[GradeInput]) -> float:
        batcher: MicroBatcher[GradeInput, object] = MicroBatcher(semantic.grade_many)
        lat = []
        for item in items:
            t0 = time.perf_counter()
            await batcher.grade(item)
            lat.append((time.perf_counter() - t0) * 1000)
        batcher.close()
        return statistics.median(lat)

    asyncio.run(concurrent(short[:128], 64))  # warm-up
    with CpuWatch() as batched_watch:
        throughput, batched_p50, sizes = asyncio.run(concurrent(short, 64))
    long_throughput, _, _ = asyncio.run(concurrent(long, 64))
    single_batcher_p50 = asyncio.run(via_batcher_single(short[:100]))
    enc = encoder.load_encoder()
    return {
        "load_s": load_s,
        "rss_loaded_mb": rss_loaded,
        "rss_after_mb": rss_mb(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "single_p50_ms": statistics.median(times),
        "single_p95_ms": float(np.percentile(times, 95)),
        "single_n": float(len(times)),
        "single_cpu_p50_ms": statistics.median(cpu_times),
        "single_machine_busy": single_watch.machine_busy,
        "single_own_share": single_watch.own_share,
        "long_single_p50_ms": statistics.median(long_times),
        "single_via_batcher_p50_ms": single_batcher_p50,
        "throughput": throughput,
        "throughput_n": float(len(short)),
        "batched_latency_p50_ms": batched_p50,
        "mean_batch": float(np.mean(sizes)) if sizes else 0.0,
        "batched_machine_busy": batched_watch.machine_busy,
        "batched_own_share": batched_watch.own_share,
        "evals_per_cpu_second": len(short) / max(1e-9, batched_watch.cpu),
        "long_throughput": long_throughput,
        "long_n": float(len(long)),
        "mean_tokens": float(np.mean([enc.count_pieces(i.answer) for i in short])),
        "long_mean_tokens": float(np.mean([enc.count_pieces(i.answer) for i in long])),
        "bf16": float(getattr(enc.forward, "use_bf16", False)),
        "threads": float(enc.threads),
        "batch_threads": float(getattr(enc.forward, "batch_threads", enc.threads)),
    }


def speed_lines(speed: dict[str, float]) -> list[str]:
    s = speed
    return [
        f"speed ({encoder.backend_setting()} backend; threads: {int(s['threads'])} for small batches, "
        f"{int(s['batch_threads'])} for 16+ texts; "
        f"bf16 batches: {bool(s['bf16'])}; fresh process, "
        f"model load {speed['load_s']:.1f}s):",
        f"  one answer at a time, direct: p50 {speed['single_p50_ms']:.1f} ms, p95 {speed['single_p95_ms']:.1f} ms "
        f"(n={int(speed['single_n'])} SemEval test answers, mean {speed['mean_tokens']:.0f} tokens, references "
        f"cached); SAF answers (mean {speed['long_mean_tokens']:.0f} tokens): p50 {speed['long_single_p50_ms']:.1f} ms",
        f"  one answer at a time through the micro-batcher (3 ms window): p50 {s['single_via_batcher_p50_ms']:.1f} ms",
        f"  64 concurrent callers, micro-batched (batches of up to {MAX_BATCH}, {MAX_CONCURRENT} in flight): "
        f"{speed['throughput']:.0f} evals/s over {int(speed['throughput_n'])} "
        f"SemEval answers (mean batch {s['mean_batch']:.1f}, per-call p50 {s['batched_latency_p50_ms']:.0f} ms); "
        f"{speed['long_throughput']:.0f} evals/s over {int(speed['long_n'])} SAF answers",
        f"  machine busy during the single / batched runs: {speed['single_machine_busy']:.0%} / "
        f"{speed['batched_machine_busy']:.0%} of all cores, this process {speed['single_own_share']:.0%} / "
        f"{speed['batched_own_share']:.0%} (the rest: other processes); CPU per single answer p50 "
        f"{speed['single_cpu_p50_ms']:.1f} ms; {speed['evals_per_cpu_second']:.0f} batched evals per CPU-second",
        f"  RSS: {speed['rss_loaded_mb']:.0f} MB with the model loaded, {speed['rss_after_mb']:.0f} MB after "
        f"grading, peak {speed['peak_rss_mb']:.0f} MB",
    ]


# ---------------------------------------------------------------- report


def fmt(v: float) -> str:
    return "  -  " if v != v else f"{v:.3f}"  # NaN check


def table(lines: list[dict[str, object]]) -> str:
    head = (
        f"{'set':12s} {'split':22s} {'n':>5s} {'ins':>4s} | {'method':8s} {'pearson':>7s} {'spearman':>8s} "
        f"{'rmse':>6s} {'qwk':>6s} {'acc':>6s} {'mF1':>6s}"
    )
    out = [head, "-" * len(head)]
    nan = float("nan")
    for line in lines:
        for method in ("grader", "previous", "baseline"):
            m = line[method]
            assert isinstance(m, dict)
            first = method == "grader"
            out.append(
                f"{(str(line['set']) if first else ''):12s} {(str(line['split']) if first else ''):22s} "
                f"{(str(line['n']) if first else ''):>5s} {(str(line['insufficient']) if first else ''):>4s} | "
                f"{method:8s} {fmt(m['pearson']):>7s} {fmt(m['spearman']):>8s} {fmt(m['rmse']):>6s} "
                f"{fmt(m['qwk']):>6s} {fmt(m.get('accuracy', nan)):>6s} {fmt(m.get('macro_f1', nan)):>6s}"
            )
    return "\n".join(out)


def zero_shot_table(lines: list[dict[str, object]]) -> str:
    """What a new team sees before any review: the default profile, scores on 0..5."""
    head = (
        f"{'set':12s} {'split':22s} | {'pearson':>7s} {'rmse0-5':>7s} {'bias':>6s} | "
        f"{'previous':>8s} {'rmse0-5':>7s} {'bias':>6s}"
    )
    out = [
        "zero-shot with the default profile (a new team, no reviews; grader vs the previous version), 0..5 scale:",
        head,
        "-" * len(head),
    ]
    for line in lines:
        z = line["zero_shot"]
        assert isinstance(z, dict)
        out.append(
            f"{line['set']!s:12s} {line['split']!s:22s} | {fmt(z['pearson']):>7s} {z['rmse5']:7.2f} "
            f"{z['bias5']:+6.2f} | {fmt(z['previous_pearson']):>8s} {z['previous_rmse5']:7.2f} "
            f"{z['previous_bias5']:+6.2f}"
        )
    return "\n".join(out)


def transfer_targets(lines: list[dict[str, object]], cv: dict[str, float]) -> list[str]:
    """Issue #19's targets that these sets can check (the 0..5 held-out set is checked elsewhere)."""
    out = []
    worst = 0.0
    for line in lines:
        g, p, b = line["grader"], line["previous"], line["baseline"]
        assert isinstance(g, dict) and isinstance(p, dict) and isinstance(b, dict)
        for metric in ("pearson", "qwk", "macro_f1"):
            if metric in g and g[metric] == g[metric]:
                worst = min(worst, round(g[metric] - p[metric], 3))  # as printed
        if (
            "unseen-questions" in str(line["split"])
            or "unseen_questions" in str(line["split"])
            or "domains" in str(line["split"])
        ):
            ok = g["pearson"] > b["pearson"]
            out.append(
                f"  [{'met' if ok else 'SHORT'}] {line['set']} {line['split']}: Pearson {g['pearson']:.3f} "
                f"beats the baseline's {b['pearson']:.3f}"
            )
        if line["set"] == "saf" and line["split"] == "unseen_questions":
            ok = g["pearson"] >= 0.60
            mark = "met" if ok else "SHORT"
            out.append(f"  [{mark}] saf unseen_questions: Pearson {g['pearson']:.3f} >= 0.60 (goal)")
    ok = cv["grader_mean"] >= 0.45
    out.append(
        f"  [{'met' if ok else 'SHORT'}] SAF train grouped CV: {cv['grader_mean']:.3f} >= 0.45 "
        f"(previous {cv['previous_mean']:.3f})"
    )
    out.append(
        f"  [{'met' if worst >= -0.01 else 'SHORT'}] no row worse than the previous version by more than 0.01 "
        f"(Pearson, QWK, macro-F1): worst {worst:+.3f}"
    )
    return out


def target_check(lines: list[dict[str, object]]) -> list[str]:
    out = []
    for line in lines:
        g, b = line["grader"], line["baseline"]
        assert isinstance(g, dict) and isinstance(b, dict)
        if line["set"] == "saf":
            delta = g["pearson"] - b["pearson"]
            ok = delta >= 0.10
            what = f"Pearson {g['pearson']:.3f} vs {b['pearson']:.3f} (delta {delta:+.3f}, need +0.10)"
        else:
            delta = g["macro_f1"] - b["macro_f1"]
            ok = delta >= 0.05
            what = f"macro-F1 {g['macro_f1']:.3f} vs {b['macro_f1']:.3f} (delta {delta:+.3f}, need +0.05)"
            if line["set"] == "sciEntsBank" and "questions" in str(line["split"]):
                ok = ok and g["macro_f1"] >= 0.72
                what += f"; >= 0.72: {'yes' if g['macro_f1'] >= 0.72 else 'NO'}"
        out.append(f"  [{'met' if ok else 'SHORT'}] {line['set']} {line['split']}: {what}")
    return out


def plot(scored: dict[str, dict[str, Scored]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(scored)
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4.6))
    bins = np.linspace(0, 1, 11)
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        for split, s in scored[name].items():
            if split == "train":
                continue
            idx = np.clip(np.digitize(s.probability, bins) - 1, 0, 9)
            xs, ys, ns = [], [], []
            for k in range(10):
                m = idx == k
                if m.sum() >= 5:
                    xs.append(10 * s.probability[m].mean())
                    ys.append(10 * s.target[m].mean())
                    ns.append(int(m.sum()))
            ax.plot(xs, ys, marker="o", label=f"{split} (n={len(s.rows)})")
        ax.plot([0, 10], [0, 10], color="grey", linestyle="--", linewidth=1)
        ax.set_title(f"{name}: grader score vs human")
        ax.set_xlabel("predicted score (0-10), binned")
        ax.set_ylabel("mean human score x 10 / score_max")
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 10)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def transfer_plot(lines: list[dict[str, object]], path: Path) -> None:
    """Per test split: Pearson of the grader, its previous version and the baseline (set intercepts),
    and a new team's zero-shot bias on 0..5 (default profile), grader vs previous."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{line['set']}\n{str(line['split']).replace('test-', '')}" for line in lines]
    x = np.arange(len(lines))
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 4.8))
    methods = (("grader", "C0"), ("previous", "C7"), ("baseline", "C3"))
    for offset, (method, colour) in zip((-0.27, 0.0, 0.27), methods, strict=True):
        values = [line[method]["pearson"] for line in lines]  # type: ignore[index]
        left.bar(x + offset, values, width=0.27, color=colour, label=method)
    left.set_xticks(x, labels, fontsize=7)
    left.set_ylabel("Pearson (set's own intercept)")
    left.set_title("ranking on unseen answers / questions / domains")
    left.legend(fontsize=8)
    for offset, (key, colour, name) in zip(
        (-0.2, 0.2), (("bias5", "C0", "grader"), ("previous_bias5", "C7", "previous")), strict=True
    ):
        values = [line["zero_shot"][key] for line in lines]  # type: ignore[index]
        right.bar(x + offset, values, width=0.4, color=colour, label=name)
    right.axhline(0, color="black", linewidth=0.8)
    right.set_xticks(x, labels, fontsize=7)
    right.set_ylabel("mean score - mean human score (0..5)")
    right.set_title("a new team's zero-shot bias (default profile, no reviews)")
    right.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------- few-shot (learning from reviews)

KS = (0, 3, 5, 10)
FEWSHOT_TARGET = (
    "k=5 vs k=0: RMSE at least 25% lower and Pearson at least 0.08 higher; no k worse than k=0 in Pearson or RMSE"
)
FEWSHOT_POOL = 40  # train answers per question kept with --part fewshot


def fewshot_metrics(pred: np.ndarray, target10: np.ndarray, two_way: bool) -> dict[str, float]:
    if two_way:
        kappa = qwk((pred >= 5).astype(int), (target10 >= 5).astype(int), 2)
    else:
        kappa = qwk(np.rint(pred / 2.5).astype(int), np.rint(target10 / 2.5).astype(int), 5)
    return {
        "pearson": fit_grader.pearson(pred, target10),
        "rmse": float(np.sqrt(np.mean((pred - target10) ** 2))),
        "qwk": kappa,
        "bias": float(np.mean(pred - target10)),
    }


def fewshot_bench(
    rows: Sequence[fit_grader.Row], analyses: Sequence[semantic.Analysis], draws: int, ks: Sequence[int]
) -> list[dict[str, object]]:
    """Per set and test split: metrics against k (means and sds over draws); see the module doc."""
    z = fit_grader.zero_shot_scores(analyses)
    vectors = fit_grader.answer_vectors(analyses)
    target10 = np.array([10.0 * r.target for r in rows])
    params = fewshot.load_params()
    sets = np.array([r.set for r in rows])
    splits = np.array([r.split for r in rows])
    jobs = [(name, split) for name, test_splits in TEST_SPLITS.items() for split in test_splits]
    own_profile = {name: fit_grader.zero_shot_scores(analyses, profile=name) for name in TEST_SPLITS}
    out: list[dict[str, object]] = []
    with tqdm(total=len(jobs) * draws, desc="few-shot bench", unit="draw", file=sys.stderr) as bar:
        for name, split in jobs:
            pools = fit_grader.by_question(rows, np.flatnonzero((sets == name) & (splits == "train")))
            groups = fit_grader.by_question(rows, np.flatnonzero((sets == name) & (splits == split)))
            unseen_answers = all(q in pools for q in groups)
            z_own = own_profile[name]
            per_k: dict[int, list[dict[str, float]]] = {k: [] for k in ks}
            own: list[dict[str, float]] = []
            scored_n = 0
            for draw in range(draws):
                for k in ks:
                    if unseen_answers:
                        episode = fit_grader.episode_from_pool(pools, groups, k, draw)
                    else:
                        episode = fit_grader.episode_in_split(groups, k, draw)
                    team = fit_grader.episode_leniency(episode, z, target10, params.leniency_prior_pairs)
                    idx, pred = fit_grader.predict_episode(episode, z, vectors, target10, params, team)
                    per_k[k].append(fewshot_metrics(pred, target10[idx], name in TWO_WAY))
                    if k == 0:
                        scored_n = len(idx)
                        _idx, own_pred = fit_grader.predict_episode(episode, z_own, vectors, target10, params, None)
                        own.append(fewshot_metrics(own_pred, target10[idx], name in TWO_WAY))
                bar.update(1)
            summary: dict[str, object] = {
                "set": name,
                "split": split,
                "examples_from": "train answers of the question" if unseen_answers else "the split (10 set aside)",
                "questions": len(groups),
                "scored": scored_n,
                "draws": draws,
            }
            for k, values in per_k.items():
                summary[f"k{k}"] = {
                    **{m: float(np.nanmean([v[m] for v in values])) for m in ("pearson", "rmse", "qwk", "bias")},
                    "pearson_sd": float(np.nanstd([v["pearson"] for v in values])),
                    "rmse_sd": float(np.nanstd([v["rmse"] for v in values])),
                }
            summary["k0_own_intercept"] = {
                m: float(np.nanmean([v[m] for v in own])) for m in ("pearson", "rmse", "qwk", "bias")
            }
            out.append(summary)
    return out


def fewshot_table(lines: list[dict[str, object]], ks: Sequence[int]) -> str:
    head = (
        f"{'set':12s} {'split':22s} {'q':>4s} {'n':>5s} | {'k':>3s} {'pearson':>13s} {'rmse':>12s} "
        f"{'qwk':>6s} {'bias':>6s}"
    )
    out = [head, "-" * len(head)]
    for line in lines:
        for j, k in enumerate(ks):
            m = line[f"k{k}"]
            assert isinstance(m, dict)
            first = j == 0
            out.append(
                f"{(str(line['set']) if first else ''):12s} {(str(line['split']) if first else ''):22s} "
                f"{(str(line['questions']) if first else ''):>4s} {(str(line['scored']) if first else ''):>5s} | "
                f"{k:>3d} {m['pearson']:7.3f}±{m['pearson_sd']:.3f} {m['rmse']:6.2f}±{m['rmse_sd']:.2f} "
                f"{m['qwk']:6.3f} {m['bias']:+6.2f}"
            )
        own = line["k0_own_intercept"]
        assert isinstance(own, dict)
        out.append(
            f"{'':12s} {'':22s} {'':>4s} {'':>5s} | {'0*':>3s} {own['pearson']:7.3f}{'':6s} {own['rmse']:6.2f}{'':5s} "
            f"{own['qwk']:6.3f} {own['bias']:+6.2f}"
        )
    return "\n".join(out)


def fewshot_targets(lines: list[dict[str, object]], ks: Sequence[int]) -> list[str]:
    out = []
    for line in lines:
        m0, m5 = line["k0"], line.get("k5")
        assert isinstance(m0, dict)
        if not isinstance(m5, dict):
            continue
        drop = 1 - m5["rmse"] / m0["rmse"]
        gain = m5["pearson"] - m0["pearson"]
        worse = [
            f"k={k}"
            for k in ks
            if k
            and isinstance(mk := line[f"k{k}"], dict)
            and (mk["rmse"] > m0["rmse"] + 1e-9 or mk["pearson"] < m0["pearson"] - 1e-9)
        ]
        parts = [
            f"RMSE {m5['rmse']:.2f} vs {m0['rmse']:.2f} ({-drop:+.2%}, need -25%: {'yes' if drop >= 0.25 else 'NO'})",
            f"Pearson {m5['pearson']:.3f} vs {m0['pearson']:.3f} ({gain:+.3f}, need +0.08: "
            f"{'yes' if gain >= 0.08 else 'NO'})",
            "never worse than k=0: " + ("yes" if not worse else "NO (" + ", ".join(worse) + ")"),
        ]
        ok = drop >= 0.25 and gain >= 0.08 and not worse
        out.append(f"  [{'met' if ok else 'SHORT'}] {line['set']} {line['split']}: " + "; ".join(parts))
    return out


def fewshot_plot(lines: list[dict[str, object]], ks: Sequence[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (
        ("pearson", "Pearson (higher is better)"),
        ("rmse", "RMSE, 0-10 scale (lower is better)"),
        ("qwk", "quadratic weighted kappa"),
        ("bias", "mean bias, predicted - human (0-10)"),
    )
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.2))
    colors = {"sciEntsBank": "tab:blue", "beetle": "tab:orange", "saf": "tab:green"}
    styles = ["-", "--", ":"]
    for ax, (metric, title) in zip(axes.ravel(), panels, strict=True):
        seen: dict[str, int] = {}
        for line in lines:
            name = str(line["set"])
            style = styles[seen.get(name, 0) % len(styles)]
            seen[name] = seen.get(name, 0) + 1
            values = [line[f"k{k}"][metric] for k in ks]  # type: ignore[index]
            ax.plot(ks, values, marker="o", color=colors.get(name), linestyle=style, label=f"{name} {line['split']}")
        if metric == "bias":
            ax.axhline(0, color="grey", linewidth=1)
        ax.set_title(title, fontsize=10)
        ax.set_xticks(list(ks))
        ax.set_xlabel("reviewed answers per question (k)")
        ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle("Grading with k reviewed answers per question (graded examples + team leniency), test splits")
    fig.tight_layout(rect=(0, 0.08, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fewshot_report(
    rows: Sequence[fit_grader.Row], analyses: Sequence[semantic.Analysis], args: argparse.Namespace
) -> str:
    ks = KS
    lines = fewshot_bench(rows, analyses, args.draws, ks)
    params = fewshot.load_params()
    png = args.results / "grading_fewshot.png"
    fewshot_plot(lines, ks, png)
    pool = "all train answers" if args.part != "fewshot" else f"up to {FEWSHOT_POOL} train answers per question"
    text = "\n".join(
        [
            f"few-shot grading {params.version} (sharpness {params.sharpness}, prior {params.prior}, "
            f"max examples {params.max_examples}, leniency prior {params.leniency_prior_pairs} pairs; "
            f"fitted {params.fitted_on.get('date', '?')} on train splits); grader {semantic.VERSION}",
            "k = reviewed answers per question; k=0: the shipped grader (default profile), no reviews; "
            "0*: for reference, zero-shot with the set's own intercept fitted on its train split (not available "
            "to a new team)",
            f"unseen-answers splits: reviewed answers drawn from {pool} of the same question, all test answers "
            "scored; other splits: 10 answers per question set aside, k of them reviewed, the rest scored",
            "leniency fitted on the reviewed answers of all the split's questions; metrics on 0..10; "
            f"mean ± sd over {args.draws} draws; insufficient evidence scored 0; "
            "qwk: 2-way pass at 5, SAF quarters of the points",
            "",
            fewshot_table(lines, ks),
            "",
            f"targets ({FEWSHOT_TARGET}):",
            *fewshot_targets(lines, ks),
            "",
            f"plot: {png.relative_to(REPO) if png.is_relative_to(REPO) else png}",
        ]
    )
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "grading_fewshot.json").write_text(
        json.dumps({"params": params.to_json(), "ks": list(ks), "lines": lines}, indent=2) + "\n", encoding="utf-8"
    )
    return text


def pool_subsample(rows: Sequence[fit_grader.Row], per_question: int, seed: int = 5) -> list[fit_grader.Row]:
    groups: dict[tuple[str, str], list[fit_grader.Row]] = {}
    for row in rows:
        groups.setdefault((row.set, row.question_id), []).append(row)
    rng = random.Random(seed)
    out: list[fit_grader.Row] = []
    for key in sorted(groups):
        members = groups[key]
        out.extend(members if len(members) <= per_question else rng.sample(members, per_question))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=fit_grader.DEFAULT_DATA_DIR)
    parser.add_argument("--train-per-set", type=int, default=0, help="subsample each train split (0: all)")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--single", type=int, default=200, help="answers timed one by one")
    parser.add_argument("--batched", type=int, default=1024, help="answers graded by 64 concurrent callers")
    parser.add_argument("--speed-probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--part", choices=["all", "zeroshot", "fewshot"], default="all")
    parser.add_argument("--draws", type=int, default=20, help="few-shot: random draws of the reviewed answers")
    args = parser.parse_args(argv)
    if args.speed_probe:
        print(json.dumps(speed_probe(args.data_dir, args.single, args.batched)))
        return 0

    started = time.perf_counter()
    speeds: list[dict[str, float]] = []
    if not args.skip_speed and args.part != "fewshot":  # first, while nothing else of this run holds memory
        probe = subprocess.run(
            [
                sys.executable,
                __file__,
                "--speed-probe",
                "--data-dir",
                str(args.data_dir),
                "--single",
                str(args.single),
                "--batched",
                str(args.batched),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        speeds.append(json.loads(probe.stdout.strip().splitlines()[-1]))
    speed_s = time.perf_counter() - started

    rows = fit_grader.load_rows(args.data_dir)
    train = fit_grader.subsample([r for r in rows if r.split == "train"], args.train_per_set)
    if args.part == "fewshot":
        train = pool_subsample(train, FEWSHOT_POOL)
    tests = [r for r in rows if r.split != "train"]
    encoder.load_encoder()
    all_rows = train + tests
    analyses = fit_grader.analyze(all_rows, "grading")
    if args.part == "fewshot":
        text = fewshot_report(all_rows, analyses, args)
        text += f"\nwall time: {time.perf_counter() - started:.0f}s"
        print(text)
        (args.results / "grading_fewshot.txt").write_text(text + "\n", encoding="utf-8")
        return 0
    scored = score_rows(all_rows, analyses)
    sets = np.array([r.set for r in all_rows])
    splits = np.array([r.split for r in all_rows])
    lines: list[dict[str, object]] = []
    by_set: dict[str, dict[str, Scored]] = {}
    for name, test_splits in TEST_SPLITS.items():
        by_set[name] = {"train": select(scored, (sets == name) & (splits == "train"))}
        for split in test_splits:
            by_set[name][split] = select(scored, (sets == name) & (splits == split))
        lines.extend(evaluate_set(name, by_set[name]["train"], {s: by_set[name][s] for s in test_splits}))
    cv = saf_cv(train, analyses[: len(train)])
    png = args.results / "grading_calibration.png"
    plot(by_set, png)
    transfer_plot(lines, args.results / "grading_transfer.png")
    params = calibration.load()
    total_s = time.perf_counter() - started

    report = [
        f"semantic grader {semantic.VERSION}; calibration fitted on train {params.fitted_on.get('date', '')} "
        f"(rows {params.fitted_on.get('rows', '')}); model {encoder.MODEL_NAME}",
        "train rows used for baseline fit / thresholds / CV: "
        + ", ".join(f"{n}={int((sets[: len(train)] == n).sum())}" for n in TEST_SPLITS),
        "grader = shipped calibration with the set's intercept; previous = the previous grader version's"
        " calibration (bench/reference/) on the same features, the set's intercept;"
        " baseline = MiniLM cosine(answer, first reference), linear fit on train;"
        " 2-way thresholds maximise train macro-F1; ins = answers marked insufficient (scored 0)",
        "rmse on the set's scale (score_max points); qwk: 2-way on labels, SAF on quarters of score_max",
        "",
        table(lines),
        "",
        f"targets ({TARGETS}):",
        *target_check(lines),
        "",
        f"SAF train, grouped 5-fold CV by question x {int(cv['folds'] / 5)} seeds (folds of ~5 questions, "
        f"like unseen_questions): Pearson grader {cv['grader_mean']:.3f} +/- {cv['grader_sd']:.3f}, "
        f"previous {cv['previous_mean']:.3f} +/- {cv['previous_sd']:.3f}, "
        f"baseline {cv['baseline_mean']:.3f} +/- {cv['baseline_sd']:.3f}",
        "",
        zero_shot_table(lines),
        "",
        "targets of issue #19:",
        *transfer_targets(lines, cv),
    ]
    for speed in speeds:
        report += ["", *speed_lines(speed)]
    report += [
        "",
        f"calibration plot: {png.relative_to(REPO) if png.is_relative_to(REPO) else png}; "
        "across questions and a new team's bias: bench/results/grading_transfer.png",
        f"wall time: {total_s:.0f}s (speed probe {speed_s:.0f}s)",
    ]
    text = "\n".join(report)
    print(text)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "grading.txt").write_text(text + "\n", encoding="utf-8")
    if args.part == "all":
        few = fewshot_report(all_rows, analyses, args)
        few += f"\nwall time (whole run): {time.perf_counter() - started:.0f}s"
        print("\n" + few)
        (args.results / "grading_fewshot.txt").write_text(few + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
