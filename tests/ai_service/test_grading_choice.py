"""The choice rule and the default profile's level: pure functions, no model."""

from __future__ import annotations

import numpy as np
import pytest

from ai_service.grading import calibration
from ai_service.grading.text import choice_mismatch, choice_options

LB_Q = "Should a stateless API sit behind a round-robin or a sticky load balancer? Explain briefly."
LB_REF = "Round-robin: any instance can serve any request because no session lives in the process."


@pytest.mark.parametrize(
    ("answer", "mismatch"),
    [
        ("Round-robin, since the instances hold no state, so any of them can take the request.", False),
        ("A sticky one, so that each user keeps hitting the same instance and its cache.", True),
        # Names neither option: the rule has nothing to say (the other features judge it).
        ("Whatever spreads the load evenly over the instances.", False),
    ],
)
def test_the_answer_picking_the_other_option_is_a_mismatch(answer: str, mismatch: bool) -> None:
    assert choice_mismatch(LB_Q, LB_REF, answer) is mismatch


@pytest.mark.parametrize(
    ("question", "reference", "answer", "mismatch"),
    [
        ("Can a UDP socket lose packets without telling you?", "Yes, UDP gives no delivery guarantee.", "No.", True),
        ("Can a UDP socket lose packets without telling you?", "Yes, UDP gives no delivery guarantee.", "yes", False),
        # The reference does not open with yes or no: no pick to contradict.
        ("Can a UDP socket lose packets?", "UDP gives no delivery guarantee.", "No, never.", False),
        # Not a yes/no question.
        ("Why can a UDP socket lose packets?", "Yes, because ...", "No idea", False),
    ],
)
def test_yes_no_questions(question: str, reference: str, answer: str, mismatch: bool) -> None:
    assert choice_mismatch(question, reference, answer) is mismatch


def test_lists_of_alternatives_and_references_naming_both_decide_nothing() -> None:
    many = "Which would you pick: TCP or UDP, and polling or push? Give reasons."
    assert len(choice_options(many)) == 2
    assert choice_mismatch(many, "TCP, and push.", "UDP and polling") is False
    both = "Is TCP or UDP better for a video call?"
    assert choice_mismatch(both, "Either works: UDP for latency, TCP through strict firewalls.", "TCP") is False
    # "why or why not" and "whether or not" are not options.
    assert choice_options("Can you use string here? Why or why not?") == []


def test_the_default_profile_sits_where_the_sets_rmse_is_lowest_on_average() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3000, 2))
    groups = np.repeat(["harsh", "middle", "lenient"], 1000)
    shift = np.repeat([-1.5, 0.0, 1.5], 1000)
    y = 1.0 / (1.0 + np.exp(-(x @ np.array([1.0, -0.5]) + shift)))
    params = calibration.fit(x, y, list(groups), ["a", "b"], "test", l2=0.1)
    own = [params.intercepts[g] for g in ("harsh", "middle", "lenient")]
    assert own[0] < own[1] < own[2]
    default = params.intercept()
    assert own[0] < default < own[2]

    def mean_rmse(b: float) -> float:
        z = (x - np.array(params.mean)) / np.array(params.scale)
        p = 1.0 / (1.0 + np.exp(-(z @ np.array(params.weights) + b)))
        return float(np.mean([np.sqrt(np.mean((p[groups == g] - y[groups == g]) ** 2)) for g in np.unique(groups)]))

    # No other intercept does better for the average set, up to the fit's grid step of 0.01.
    assert all(mean_rmse(default) <= mean_rmse(b) + 1e-4 for b in np.linspace(own[0], own[2], 41))
    # The mean of the set intercepts would be a different point when the sets are not symmetric.
    assert mean_rmse(default) < mean_rmse(own[0]) and mean_rmse(default) < mean_rmse(own[2])
