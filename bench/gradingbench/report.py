"""The zero-shot report's text: the metrics table, a new team's zero-shot table, the target checks."""

from __future__ import annotations


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
