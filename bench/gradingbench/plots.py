"""The PNGs: the calibration plot, the transfer plot (across questions, a new team's bias), the few-shot plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .zeroshot import Scored


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
