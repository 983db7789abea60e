"""A team's leniency: isotonic fit on (zero-shot, reviewer) pairs, monotone, versioned, JSON round trip."""

from __future__ import annotations

import json
import random
from itertools import pairwise

import numpy as np
import pytest

from ai_service.grading import leniency, semantic
from ai_service.grading.leniency import apply_many, fit_leniency, isotonic
from ai_service.types import Leniency


def lenient_team(n: int, shift: float = 2.0, seed: int = 1) -> list[tuple[float | None, float]]:
    """A team that scores about `shift` points above the grader, with reviewer noise."""
    rng = random.Random(seed)
    pairs: list[tuple[float | None, float]] = []
    for _ in range(n):
        zero_shot = rng.uniform(0, 10)
        pairs.append((zero_shot, min(10.0, max(0.0, zero_shot + shift + rng.gauss(0, 1.0)))))
    return pairs


def test_isotonic_pools_adjacent_violators() -> None:
    x, fitted = isotonic(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 4.0]))
    assert x.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert fitted.tolist() == pytest.approx([1.0, 2.5, 2.5, 4.0])
    # Ties in x are pooled first; weights count.
    x, fitted = isotonic(np.array([2.0, 1.0, 1.0]), np.array([0.0, 4.0, 2.0]), np.array([2.0, 1.0, 1.0]))
    assert x.tolist() == [1.0, 2.0]
    assert fitted.tolist() == pytest.approx([1.5, 1.5])


def test_isotonic_is_the_least_squares_monotone_fit() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 10, 40)
    y = x + rng.normal(0, 3, 40)
    ux, fitted = isotonic(x, y)
    assert np.all(np.diff(fitted) >= -1e-12)
    order = np.argsort(x)
    sse = float(((fitted - y[order]) ** 2).sum())
    for _ in range(200):  # no random monotone alternative does better
        other = np.sort(fitted + rng.normal(0, 0.3, fitted.shape))
        assert float(((other - y[order]) ** 2).sum()) >= sse - 1e-9
    assert len(ux) == 40


def test_isotonic_matches_scipy() -> None:
    # scipy.optimize.isotonic_regression is the reference; ours stays (leniency.py's docstring says
    # why): the two agree to rounding, not always to the last bit.
    from scipy import optimize

    rng = np.random.default_rng(8)
    for _ in range(50):
        n = int(rng.integers(1, 120))
        x = rng.uniform(0, 10, n).round(1)  # ties, pooled first
        y = np.clip(x + rng.normal(0, 2.5, n), 0, 10)
        weight = rng.uniform(0.5, 2.0, n)
        ux, fitted = isotonic(x, y, weight)
        _, inverse = np.unique(x, return_inverse=True)
        sum_w = np.bincount(inverse, weights=weight)
        reference = optimize.isotonic_regression(np.bincount(inverse, weights=weight * y) / sum_w, weights=sum_w)
        assert ux.tolist() == np.unique(x).tolist()
        np.testing.assert_allclose(fitted, reference.x, rtol=0, atol=1e-12)


def test_a_lenient_team_maps_scores_up_and_the_map_is_monotone() -> None:
    team = fit_leniency(lenient_team(300), prior_pairs=20)
    assert team.pairs == 300
    assert team.grader_version == semantic.VERSION
    assert team.version.startswith("len-")
    assert team.apply(5.0) > 6.0
    grid = [i / 10 for i in range(-10, 111)]  # also outside 0..10, which is clamped
    mapped = [team.apply(v) for v in grid]
    assert all(b >= a for a, b in pairwise(mapped))
    assert all(0.0 <= v <= 10.0 for v in mapped)
    strict = fit_leniency([(z, max(0.0, (z or 0) - 2)) for z, _ in lenient_team(300)], prior_pairs=20)
    assert strict.apply(5.0) < 4.0


def test_few_pairs_stay_close_to_the_identity() -> None:
    pairs = lenient_team(300, shift=3.0)
    few = fit_leniency(pairs[:4], prior_pairs=20)
    many = fit_leniency(pairs, prior_pairs=20)
    assert abs(few.apply(5.0) - 5.0) < abs(many.apply(5.0) - 5.0)
    assert fit_leniency(pairs[:4], prior_pairs=0).apply(5.0) != pytest.approx(few.apply(5.0))


def test_no_usable_pairs_is_the_identity() -> None:
    for pairs in ([], [(None, 7.0)], [(float("nan"), 3.0)]):
        team = fit_leniency(pairs)
        assert team.pairs == 0
        assert team.version == leniency.identity().version
        assert [team.apply(v) for v in (0.0, 3.3, 10.0)] == pytest.approx([0.0, 3.3, 10.0])


def test_insufficient_pairs_are_skipped() -> None:
    pairs = lenient_team(50)
    assert fit_leniency([*pairs, (None, 10.0)]).version == fit_leniency(pairs).version


def test_version_is_a_content_hash() -> None:
    pairs = lenient_team(100)
    first, again = fit_leniency(pairs), fit_leniency(list(reversed(pairs)))
    assert first.version == again.version  # the order of the reviews does not matter
    assert fit_leniency(lenient_team(100, shift=-2.0)).version != first.version
    assert fit_leniency(pairs, grader_version="other-grader").version != first.version


def test_json_round_trip() -> None:
    team = fit_leniency(lenient_team(120), prior_pairs=10)
    data = json.loads(json.dumps(team.to_json()))
    back = Leniency.from_json(data)
    assert back == team
    assert back.version == team.version
    assert [back.apply(v / 4) for v in range(41)] == [team.apply(v / 4) for v in range(41)]


def test_whole_number_knots_keep_their_version_through_json() -> None:
    by_hand = Leniency(knots=((0, 2), (10, 10)), grader_version="g", pairs=3)
    assert Leniency.from_json(json.loads(json.dumps(by_hand.to_json()))).version == by_hand.version


def test_tampered_json_is_refused() -> None:
    data = fit_leniency(lenient_team(50)).to_json()
    with pytest.raises(ValueError, match="version"):
        Leniency.from_json({**data, "grader_version": "another-grader"})
    knots = data["knots"]
    assert isinstance(knots, list)
    knots[0] = [knots[0][0], knots[0][1] / 2]
    with pytest.raises(ValueError, match="version"):
        Leniency.from_json(data)
    with pytest.raises(ValueError):
        Leniency.from_json({"knots": "nope"})


def test_knots_must_be_monotone_and_in_range() -> None:
    with pytest.raises(ValueError):
        Leniency(knots=((0.0, 5.0), (10.0, 4.0)), grader_version="g")
    with pytest.raises(ValueError):
        Leniency(knots=((0.0, 0.0), (0.0, 1.0), (10.0, 10.0)), grader_version="g")
    with pytest.raises(ValueError):
        Leniency(knots=((0.0, 0.0), (10.0, 11.0)), grader_version="g")
    with pytest.raises(ValueError):
        Leniency(knots=((0.0, 0.0),), grader_version="g")


def test_apply_many_matches_apply() -> None:
    team = fit_leniency(lenient_team(80))
    scores = np.linspace(-1, 11, 49)
    assert apply_many(team, scores).tolist() == pytest.approx([team.apply(float(v)) for v in scores])
    assert apply_many(None, scores).tolist() == pytest.approx(np.clip(scores, 0, 10).tolist())
