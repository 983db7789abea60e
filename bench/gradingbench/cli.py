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
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import fit_grader
import numpy as np

from ai_service.grading import calibration, encoder, semantic

from .config import BENCH, REPO, RESULTS, TARGETS, TEST_SPLITS
from .plots import plot, transfer_plot
from .report import table, target_check, transfer_targets, zero_shot_table
from .reviews import FEWSHOT_POOL, fewshot_report, pool_subsample
from .speed import speed_lines, speed_probe
from .zeroshot import Scored, evaluate_set, saf_cv, score_rows, select


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
                str(BENCH / "grading.py"),  # this command line, in a fresh process
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
