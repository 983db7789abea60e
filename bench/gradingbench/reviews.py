"""The few-shot part (learning from reviews): metrics against k reviewed answers per question,
drawn as the module doc of the command line says; its table, targets, JSON and report."""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence

import fit_grader
import numpy as np
from tqdm import tqdm

from ai_service.grading import fewshot, semantic

from .config import REPO, TEST_SPLITS, TWO_WAY
from .metrics import qwk
from .plots import fewshot_plot

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
