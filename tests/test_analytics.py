"""The pure statistics behind staff analytics and calibration, on plain numbers (no Django)."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ai_service.types import Leniency
from interview_rt.review import analytics as an
from interview_rt.review.analytics import AnswerFact, SessionFact


def test_the_module_imports_no_django() -> None:
    code = "import sys, interview_rt.review.analytics; assert not any(m.startswith('django') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- point statistics -------------------------------------------------------------------------------


def test_pearson_matches_scipy() -> None:
    from scipy import stats

    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, 50)
    y = x * 0.7 + rng.normal(0, 2, 50)
    assert an.pearson(x, y) == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)


def test_pearson_is_undefined_for_constant_or_tiny_samples() -> None:
    assert an.pearson([1, 2], [1, 2]) is None
    assert an.pearson([5, 5, 5], [1, 2, 3]) is None
    assert an.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)


def test_qwk_by_hand() -> None:
    # Two raters, ratings 0 and 10 only: observed disagreements weigh 1 each.
    # a = [0, 0, 10, 10], b = [0, 10, 10, 10]: O = {(0,0):1, (0,10):1, (10,10):2};
    # rows (a) 0:2, 10:2; cols (b) 0:1, 10:3; E(0,10) = 2*3/4, E(10,0) = 2*1/4; weight 1 off-diagonal.
    expected = 1 - 1 / (1.5 + 0.5)
    assert an.quadratic_weighted_kappa([0, 0, 10, 10], [0, 10, 10, 10]) == pytest.approx(expected)


def test_qwk_matches_sklearn() -> None:
    from sklearn import metrics

    rng = np.random.default_rng(2)
    a = rng.integers(0, 11, 200)
    b = np.clip(a + rng.integers(-3, 4, 200), 0, 10)
    expected = metrics.cohen_kappa_score(a, b, weights="quadratic", labels=list(range(11)))
    assert an.quadratic_weighted_kappa(a, b) == pytest.approx(expected, abs=1e-12)


def test_qwk_rounds_scores_to_whole_points_and_is_undefined_without_spread() -> None:
    assert an.quadratic_weighted_kappa([1.2, 4.6, 9.9], [1, 5, 10]) == pytest.approx(1.0)
    assert an.quadratic_weighted_kappa([7, 7, 7], [7, 7, 7]) is None
    assert an.quadratic_weighted_kappa([3], [3]) is None


def test_bias_and_rmse() -> None:
    assert an.mean_bias([4, 6], [5, 8]) == pytest.approx(-1.5)
    assert an.rmse([4, 6], [5, 8]) == pytest.approx(math.sqrt((1 + 4) / 2))
    assert an.mean_bias([], []) is None


# --- bootstrap ----------------------------------------------------------------------------------------


def test_agreement_intervals_contain_the_estimate_and_are_reproducible() -> None:
    rng = np.random.default_rng(3)
    human = rng.uniform(0, 10, 80)
    ai = np.clip(human - 1.2 + rng.normal(0, 1.5, 80), 0, 10)
    first = an.agreement(ai, human, resamples=500)
    assert first == an.agreement(ai, human, resamples=500)
    assert first["n"] == 80
    for name in ("pearson", "qwk", "mean_bias", "rmse"):
        est = first[name]
        assert est["ci_low"] <= est["value"] <= est["ci_high"], (name, est)
    assert first["mean_bias"]["ci_high"] < 0  # the AI is clearly stricter here
    assert first["pearson"]["value"] > 0.7


def test_bootstrap_interval_narrows_with_more_data() -> None:
    rng = np.random.default_rng(4)

    def width(n: int) -> float:
        human = rng.uniform(0, 10, n)
        ai = human + rng.normal(0, 2, n)
        est = an.agreement(ai, human, resamples=400)["mean_bias"]
        return est["ci_high"] - est["ci_low"]

    assert width(400) < width(20)


def test_bootstrap_matches_scipy_where_every_resample_is_defined() -> None:
    # The same draws (rng.integers(0, n, (resamples, n)) from the seed) and the same percentiles as
    # scipy.stats.bootstrap(paired, percentile); ours differs only in dropping undefined resamples.
    from scipy import stats

    rng = np.random.default_rng(6)
    human = rng.uniform(0, 10, 40)
    ai = np.clip(human + rng.normal(-0.5, 1.5, 40), 0, 10)
    ours = an.agreement(ai, human, resamples=300, seed=11)
    for name in ("pearson", "mean_bias", "rmse"):
        reference = stats.bootstrap(
            (ai, human),
            lambda x, y, axis=-1, name=name: an.BATCH_STATISTICS[name](x, y),
            paired=True,
            vectorized=True,
            n_resamples=300,
            method="percentile",
            rng=np.random.default_rng(11),
        ).confidence_interval
        assert (ours[name]["ci_low"], ours[name]["ci_high"]) == (
            pytest.approx(round(reference.low, 4), abs=1e-9),
            pytest.approx(round(reference.high, 4), abs=1e-9),
        ), name


def test_pearson_of_resamples_is_nan_where_a_side_is_constant() -> None:
    x = np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]])
    y = np.array([[2.0, 4.0, 7.0], [1.0, 2.0, 3.0]])
    r = an.BATCH_STATISTICS["pearson"](x, y)
    assert r[0] == pytest.approx(an.pearson(x[0], y[0])) and math.isnan(r[1])


def test_agreement_on_too_few_pairs_reports_what_it_can() -> None:
    empty = an.agreement([], [])
    assert empty["n"] == 0 and empty["pearson"] == {"value": None, "ci_low": None, "ci_high": None}
    one = an.agreement([5], [7])
    assert one["mean_bias"]["value"] == -2 and one["mean_bias"]["ci_low"] is None
    assert one["pearson"]["value"] is None


# --- funnel, distributions ----------------------------------------------------------------------------


def fact(status: str = "completed", **kw: object) -> SessionFact:
    return SessionFact(job=str(kw.pop("job", "Backend")), status=status, started=bool(kw.pop("started", True)), **kw)  # type: ignore[arg-type]


def test_funnel_rates_are_over_started_sessions() -> None:
    facts = [
        fact("completed", duration_seconds=600),
        fact("completed", duration_seconds=1200),
        fact("completed", duration_seconds=900),
        fact("abandoned"),
        fact("expired"),
        fact("in_progress"),
        fact("created", started=False),
        fact("expired", started=False),  # never started: not abandonment
    ]
    f = an.funnel(facts)
    assert f["sessions"] == 8 and f["started"] == 6
    assert f["completion_rate"] == pytest.approx(0.5)
    assert f["abandonment_rate"] == pytest.approx(round(2 / 6, 4))
    assert f["median_duration_seconds"] == 900
    assert an.funnel([])["completion_rate"] is None


def test_histogram_bins_cover_the_scale_inclusively() -> None:
    assert an.histogram([0, 0.5, 9.99, 10, 10]) == [2, 0, 0, 0, 0, 0, 0, 0, 0, 3]
    d = an.distribution([2.0, None, 4.0])
    assert d["n"] == 2 and d["mean"] == 3 and d["median"] == 3 and sum(d["histogram"]["counts"]) == 2


# --- adverse impact ------------------------------------------------------------------------------------


def test_four_fifths_ratio_and_small_groups_hidden() -> None:
    outcomes = [("a", i < 6) for i in range(10)] + [("b", i < 3) for i in range(10)] + [("c", True)] * 4
    table = an.adverse_impact(outcomes)
    assert [g.group for g in table.groups] == ["a", "b"]  # c has 4 people: not shown
    assert table.suppressed_groups == 1
    assert table.reference_group == "a"
    a, b = table.groups
    assert a.selection_rate == pytest.approx(0.6) and a.impact_ratio == pytest.approx(1.0)
    assert b.impact_ratio == pytest.approx(0.5) and b.below_four_fifths
    assert not a.below_four_fifths


def test_adverse_impact_without_any_selection_has_no_ratios() -> None:
    table = an.adverse_impact([("a", False)] * 5 + [("b", False)] * 6)
    assert table.reference_group is None
    assert all(g.impact_ratio is None and not g.below_four_fifths for g in table.groups)


def test_summarize_groups_by_job_competency_and_reviewer() -> None:
    answers = (
        AnswerFact("sql", 4, 6, "rev1"),
        AnswerFact("sql", 6, 7, "rev2"),
        AnswerFact("python", 8, None, None),
    )
    facts = [
        fact(job="Backend", overall_score=6, recommendation="hire", group="x", answers=answers),
        fact(job="Data", overall_score=3, recommendation="no_hire", final_decision="hire", group="y"),
        fact("abandoned", job="Data"),
    ]
    out = an.summarize(facts, resamples=50)
    assert [j["job"] for j in out["jobs"]] == ["Backend", "Data"]
    data = out["jobs"][1]
    assert data["funnel"]["completion_rate"] == 0.5
    assert data["overall_scores"]["n"] == 1
    assert [c["competency"] for c in out["competencies"]] == ["python", "sql"]
    sql = out["competencies"][1]
    assert sql["ai_scores"]["mean"] == 5 and sql["human_scores"]["mean"] == 6.5
    assert out["agreement"]["overall"]["n"] == 2
    assert out["agreement"]["overall"]["mean_bias"]["value"] == pytest.approx(-1.5)
    assert [r["reviewer"] for r in out["agreement"]["per_reviewer"]] == ["rev1", "rev2"]
    # A human decision overrides the AI recommendation when counting selections.
    assert facts[1].selected and facts[0].selected
    assert an.score_pairs(facts) == ([4, 6], [6, 7])


# --- leniency mapping -----------------------------------------------------------------------------------


def _leniency(mapping: dict[str, Any]) -> Leniency:
    return Leniency.from_json(mapping)  # also checks the version matches the knots


def test_isotonic_fit_is_monotone_and_pools_violations() -> None:
    leniency = _leniency(an.isotonic_fit([1, 2, 3, 4], [2, 5, 3, 8]))
    assert leniency.grader_version == an.ANY_GRADER and leniency.pairs == 4
    assert [leniency.apply(x) for x in (1, 2, 3, 4)] == [2, 4, 4, 8]  # 5 and 3 pooled to 4


def test_isotonic_fit_matches_sklearn_on_noisy_data() -> None:
    from sklearn import isotonic

    rng = np.random.default_rng(5)
    x = rng.uniform(0, 10, 300).round(1)
    y = np.clip(x * 0.6 + 3 + rng.normal(0, 1.5, 300), 0, 10)
    leniency = _leniency(an.isotonic_fit(x, y))
    reference = isotonic.IsotonicRegression().fit(x, y)
    for value in (0.5, 2.0, 5.55, 9.0):
        assert leniency.apply(value) == pytest.approx(float(reference.predict([value])[0]), abs=0.01)


def test_a_fit_on_part_of_the_scale_continues_with_slope_one_then_stays_on_the_scale() -> None:
    # Fitted on scores 3-7 only: a 9 still ranks above an 8, and nothing leaves 0-10.
    leniency = _leniency(an.isotonic_fit([3, 7], [5, 8]))
    assert leniency.apply(5) == 6.5
    assert leniency.apply(8) == 9 and leniency.apply(9) == 10  # 8 + 2
    assert leniency.apply(9.5) == 10 and leniency.apply(10) == 10  # met 10 at 9, flat above
    assert leniency.apply(1) == 3 and leniency.apply(0) == 2  # 5 - 2, 5 - 3
    harsh = _leniency(an.isotonic_fit([4, 6], [1, 2]))
    assert harsh.apply(3.5) == 0.5 and harsh.apply(3) == 0 and harsh.apply(0) == 0  # met 0 at 3
    assert harsh.apply(9) == 5 and harsh.apply(10) == 6


@given(
    st.lists(st.floats(0, 10).map(lambda v: round(v, 2)), min_size=1, max_size=8, unique=True),
    st.lists(st.floats(0, 10).map(lambda v: round(v, 2)), min_size=8, max_size=8),
)
def test_knots_through_the_scale_keep_slope_one_ends_exactly(xs: list[float], raw_ys: list[float]) -> None:
    xs = sorted(xs)
    ys = sorted(raw_ys[: len(xs)])
    leniency = Leniency(knots=tuple(an.knots_through_scale(xs, ys)), grader_version="")
    assert leniency.knots[0][0] == 0 and leniency.knots[-1][0] == 10
    for score in [0.0, 10.0, *xs, *(x + d for x in xs for d in (-0.7, 0.3))]:
        if not 0 <= score <= 10:
            continue
        if score < xs[0]:
            want = ys[0] - (xs[0] - score)
        elif score > xs[-1]:
            want = ys[-1] + (score - xs[-1])
        else:
            want = float(np.interp(score, xs, ys))
        assert leniency.apply(score) == pytest.approx(min(10, max(0, want)), abs=1e-3)


def test_tabulate_turns_any_callable_into_monotone_knots() -> None:
    leniency = _leniency(an.tabulate(lambda s: s + 1.2 if s != 5 else 0.0))  # a dip it must not keep
    assert len(leniency.knots) == 101
    assert leniency.apply(2.0) == pytest.approx(3.2)
    assert leniency.apply(9.5) == 10
