"""Grading with reviewed answers of the same question (graded examples) and a team's leniency.

The zero-shot grader (semantic.py) knows the question and the reference answer, but not how a
team grades. Reviewed answers of the same question show it. For an answer with zero-shot score z:

1. Leniency: b = L(z), the team's monotone map fitted across questions (leniency.py); the
   identity when there is none or it was fitted for another grader.
2. Graded examples (residual k-NN): each reviewed example i (reviewer score s_i, zero-shot score
   z_i, both through L) votes for s_i + (b - L(z_i)), i.e. its reviewer score, moved by how much
   better or worse the grader finds the new answer than the example (clamped to 0..10). Votes are
   weighted by the similarity of the two answers (cosine c_i of their MiniLM embeddings):

       w_i = exp(sharpness * (c_i - 1))                 (1 for the same answer, less when far)
       score = (prior * b + sum_i w_i * vote_i) / (prior + sum_i w_i)

   so the zero-shot score keeps the weight `prior` and examples take over as they get more and
   closer; with no examples the score is b. Only the `max_examples` closest examples vote.
   Examples the grader finds insufficient (empty, off topic...) do not vote.

The constants (`fewshot_params.json`) are chosen by `bench/fit_grader.py --fewshot` on simulated
reviews of the train splits only. Every grade records how it was made in
`GradeOutput.calibration` (the provider stores it in `Provenance.details["calibration"]`): the
zero-shot score, the leniency version, a hash of the example set, and the examples that voted
with their weights, so a score can be audited and re-graded when the reviews change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..types import GradedExample, Leniency
from . import semantic
from .types import GradeInput, GradeOutput

METHOD = "fewshot-1"
PARAMS_PATH = Path(__file__).resolve().parent / "fewshot_params.json"
# Examples beyond this many (per request) are ignored; send the most relevant first.
MAX_CONSIDERED = 256
EXAMPLE_CACHE_SIZE = 4096


@dataclass(frozen=True)
class FewShotParams:
    sharpness: float = 5.0  # of the similarity weights
    prior: float = 0.5  # the zero-shot score's weight, in examples' worth
    max_examples: int = 10  # the closest examples that vote
    leniency_prior_pairs: float = 20.0  # see leniency.py
    fitted_on: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (self.sharpness >= 0 and self.prior > 0 and self.max_examples >= 1 and self.leniency_prior_pairs >= 0):
            raise ValueError("few-shot parameters out of range")

    @property
    def version(self) -> str:
        """The method and a hash of its constants, e.g. `fewshot-1+3f2a9c1e`."""
        canonical = json.dumps(
            [self.sharpness, self.prior, self.max_examples, self.leniency_prior_pairs], separators=(",", ":")
        )
        return f"{METHOD}+{hashlib.sha256(canonical.encode()).hexdigest()[:8]}"

    def to_json(self) -> dict[str, object]:
        return {
            "method": METHOD,
            "version": self.version,
            "sharpness": self.sharpness,
            "prior": self.prior,
            "max_examples": self.max_examples,
            "leniency_prior_pairs": self.leniency_prior_pairs,
            "fitted_on": dict(self.fitted_on),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> FewShotParams:
        fitted_on = data.get("fitted_on", {})
        return cls(
            sharpness=float(data["sharpness"]),  # type: ignore[arg-type]
            prior=float(data["prior"]),  # type: ignore[arg-type]
            max_examples=int(data["max_examples"]),  # type: ignore[call-overload]
            leniency_prior_pairs=float(data["leniency_prior_pairs"]),  # type: ignore[arg-type]
            fitted_on=dict(fitted_on) if isinstance(fitted_on, dict) else {},
        )


@lru_cache(maxsize=4)
def load_params(path: Path = PARAMS_PATH) -> FewShotParams:
    return FewShotParams.from_json(json.loads(path.read_text(encoding="utf-8")))


def save_params(params: FewShotParams, path: Path = PARAMS_PATH) -> None:
    path.write_text(json.dumps(params.to_json(), indent=2) + "\n", encoding="utf-8")
    load_params.cache_clear()


def examples_version(examples: Sequence[GradedExample]) -> str:
    """A hash of an example set (ids or content hashes, and scores); "" for none."""
    if not examples:
        return ""
    canonical = json.dumps(sorted([e.key, round(float(e.score), 2)] for e in examples), separators=(",", ":"))
    return "ex-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def combine(
    base: np.ndarray,
    vectors: np.ndarray,
    example_scores: np.ndarray,
    example_base: np.ndarray,
    example_vectors: np.ndarray,
    params: FewShotParams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores of n answers from their leniency-mapped zero-shot scores and k graded examples.

    base: (n,) L(z) of each answer; vectors: (n, d) unit embeddings; example_scores: (k,) reviewer
    scores; example_base: (k,) L(z_i); example_vectors: (k, d). Returns (scores (n,), each
    example's share of each score (n, k), similarities (n, k)). The shares and the zero-shot's
    share prior / (prior + sum w) add up to 1.
    """
    base = np.asarray(base, dtype=np.float64)
    n, k = base.shape[0], int(np.asarray(example_scores).shape[0])
    if k == 0:
        return np.clip(base, 0.0, 10.0), np.zeros((n, 0)), np.zeros((n, 0))
    sims = np.clip(np.asarray(vectors, dtype=np.float64) @ np.asarray(example_vectors, dtype=np.float64).T, -1, 1)
    weights = np.exp(params.sharpness * (sims - 1.0))
    if k > params.max_examples:  # only the closest vote
        closest = np.argsort(-weights, axis=1, kind="stable")[:, : params.max_examples]
        keep = np.zeros(weights.shape, dtype=bool)
        np.put_along_axis(keep, closest, True, axis=1)
        weights = np.where(keep, weights, 0.0)
    votes = np.clip(
        np.asarray(example_scores, dtype=np.float64)[None, :] + base[:, None] - np.asarray(example_base)[None, :],
        0.0,
        10.0,
    )
    total = params.prior + weights.sum(axis=1)
    scores = (params.prior * base + (weights * votes).sum(axis=1)) / total
    return np.clip(scores, 0.0, 10.0), weights / total[:, None], sims


# ---------------------------------------------------------------- the examples' zero-shot grades

_cache: OrderedDict[str, tuple[float | None, np.ndarray | None]] = OrderedDict()
_cache_lock = threading.Lock()


def _example_key(item: GradeInput, answer: str, profile: str | None) -> str:
    parts = [semantic.VERSION, profile or "", item.question, item.reference_answer, answer, *item.key_points]
    parts += ["\x01", *item.alternative_references]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def zero_shot(output: GradeOutput) -> float | None:
    """The semantic grader's unrounded 0..10 score (None when insufficient)."""
    if output.score is None or output.insufficient_evidence:
        return None
    probability = output.features.get("probability")
    return 10.0 * probability if probability is not None else output.score


def zero_shot_many(items: Sequence[GradeInput], profile: str | None = None) -> list[float | None]:
    """The zero-shot 0..10 score of each item's answer (None: insufficient evidence), cached.

    For fitting a leniency on reviewed answers; the cache then also serves those answers when
    they come back as graded examples of the same question.
    """
    keys = [_example_key(item, item.answer, profile) for item in items]
    with _cache_lock:
        known = {key: _cache[key] for key in keys if key in _cache}
    todo = {key: item for key, item in zip(keys, items, strict=True) if key not in known}
    if todo:
        outputs = semantic.grade_many([_plain(item) for item in todo.values()], profile)
        fresh = {key: (zero_shot(out), out.vector) for key, out in zip(todo, outputs, strict=True)}
        _remember(fresh)
        known.update(fresh)
    return [known[key][0] for key in keys]


def _plain(item: GradeInput) -> GradeInput:
    return GradeInput(item.question, item.reference_answer, item.answer, item.key_points, item.alternative_references)


def _remember(found: Mapping[str, tuple[float | None, np.ndarray | None]]) -> None:
    with _cache_lock:
        for key, value in found.items():
            _cache[key] = value
            _cache.move_to_end(key)
        while len(_cache) > EXAMPLE_CACHE_SIZE:
            _cache.popitem(last=False)


def _usable_leniency(leniency: Leniency | None) -> tuple[Leniency | None, str]:
    if leniency is None:
        return None, ""
    if leniency.grader_version != semantic.VERSION:
        return None, f"fitted for {leniency.grader_version or 'an unknown grader'}, not {semantic.VERSION}"
    return leniency, ""


def grade_many(items: Sequence[GradeInput], profile: str | None = None) -> list[GradeOutput]:
    """Grade with the semantic grader, then apply each item's leniency and graded examples.

    Items without examples or leniency get their zero-shot grade (plus `calibration` details).
    Examples are graded as answers to the item's question (cached), in the same model batch as
    the items.
    """
    params = load_params()
    pending: dict[str, GradeInput] = {}
    with _cache_lock:
        for item in items:
            for example in item.examples[:MAX_CONSIDERED]:
                key = _example_key(item, example.answer, profile)
                if key in _cache:
                    _cache.move_to_end(key)
                else:
                    pending[key] = dataclasses.replace(_plain(item), answer=example.answer)
    outputs = semantic.grade_many([*items, *pending.values()], profile)
    found: dict[str, tuple[float | None, np.ndarray | None]] = {
        key: (zero_shot(out), out.vector) for key, out in zip(pending, outputs[len(items) :], strict=True)
    }
    _remember(found)
    results = []
    for item, output in zip(items, outputs[: len(items)], strict=True):
        examples = []
        for example in item.examples[:MAX_CONSIDERED]:
            key = _example_key(item, example.answer, profile)
            graded = found.get(key)
            if graded is None:
                with _cache_lock:
                    graded = _cache.get(key)
            examples.append((example, graded or (None, None)))
        results.append(_apply(item, output, examples, params))
    return results


def _apply(
    item: GradeInput,
    output: GradeOutput,
    examples: Sequence[tuple[GradedExample, tuple[float | None, np.ndarray | None]]],
    params: FewShotParams,
) -> GradeOutput:
    leniency, skipped = _usable_leniency(item.leniency)
    info: dict[str, object] = {
        "version": params.version,
        "leniency_version": leniency.version if leniency else "",
        "examples_version": examples_version(item.examples),
        "examples_given": len(item.examples),
        "examples_used": 0,
    }
    if skipped:
        info["leniency_skipped"] = skipped
    z = zero_shot(output)
    if z is None or output.vector is None:
        return dataclasses.replace(output, calibration=info)
    base = leniency.apply(z) if leniency else z
    info["zero_shot_score"] = round(z, 2)
    info["after_leniency"] = round(base, 2)
    usable = [
        (example, example_z, vector)
        for example, (example_z, vector) in examples
        if example_z is not None and vector is not None and math.isfinite(example.score)
    ]
    score = base
    if usable:
        scores = np.array([min(10.0, max(0.0, float(e.score))) for e, _z, _v in usable])
        example_base = np.array([leniency.apply(ez) if leniency else ez for _e, ez, _v in usable])
        scored, shares, sims = combine(
            np.array([base]),
            output.vector[None, :],
            scores,
            example_base,
            np.stack([v for _e, _z, v in usable]),
            params,
        )
        score = float(scored[0])
        voted = sorted(
            (j for j in range(len(usable)) if shares[0, j] > 0), key=lambda j: float(shares[0, j]), reverse=True
        )
        info["examples_used"] = len(voted)
        info["zero_shot_weight"] = round(1.0 - float(shares[0].sum()), 4)
        info["examples"] = [
            {
                "id": usable[j][0].key,
                "score": round(float(scores[j]), 2),
                "similarity": round(float(sims[0, j]), 4),
                "weight": round(float(shares[0, j]), 4),
                "zero_shot": round(float(example_base[j]), 2),
            }
            for j in voted
        ]
    if len(usable) < len(item.examples[:MAX_CONSIDERED]):
        info["examples_without_evidence"] = len(item.examples[:MAX_CONSIDERED]) - len(usable)
    return dataclasses.replace(output, score=round(score, 1), calibration=info)
