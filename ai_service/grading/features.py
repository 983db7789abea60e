"""Features of one answer against its question, reference answer and key points.

Everything here is numpy on top of `Encoded` texts (see encoder.py); nothing loads a model. The
features are the inputs of the calibration model (calibration.py) and are stored with each grade
for provenance. Words the answer shares with the question are demoted (weight QUESTION_WEIGHT):
repeating the question shows nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..types import KeyPointMatch
from .encoder import Encoded
from .text import STOPWORDS, stem

QUESTION_WEIGHT = 0.2
# A key point counts as covered when its best span reaches this cosine (word-mean vectors).
COVER_THRESHOLD = 0.6
WINDOW_SIZES = (3, 5, 8, 12)
NEGATIONS = frozenset({"not", "no", "never", "cannot", "cant", "don", "doesn", "didn", "isn", "aren", "wasn",
                       "weren", "won", "wouldn", "shouldn", "couldn", "without", "nothing", "none", "neither", "nor"})
_CLAUSE_BREAK = re.compile(r"[.!?;:,\n]|\s(?:and|but|because|so|which|while|whereas|since)\s", re.IGNORECASE)

FEATURE_NAMES = (
    "sim_ref",  # cosine of answer and reference sentence embeddings
    "sim_question",  # cosine of answer and question (high + little else = restating the question)
    "sim_novel",  # cosine of the answer and reference, each pooled over words not in the question
    "align_recall",  # reference words (question words demoted) aligned to their best answer word
    "align_precision",  # answer words (question words demoted) aligned to their best reference word
    "lex_recall",  # share of the reference's new (non-question) stems that the answer uses
    "lex_precision",  # share of the answer's new stems that the reference uses
    "kp_mean",  # mean over key points of the best span cosine
    "kp_min",  # weakest key point
    "kp_covered",  # share of key points at or above COVER_THRESHOLD
    "novel_share",  # share of the answer's content stems not in the question
    "log_words",  # log(1 + answer content words)
    "length_ratio",  # log((1 + answer content words) / (1 + reference content words))
    "negation_mismatch",  # exactly one of answer and reference negates
)


@dataclass(frozen=True)
class Features:
    values: dict[str, float]
    covered: tuple[KeyPointMatch, ...]
    missed: tuple[str, ...]
    coverage: tuple[float, ...]  # best span cosine per key point, in order


def _unit(m: np.ndarray) -> np.ndarray:
    return m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-9)


def _content_mask(enc: Encoded) -> np.ndarray:
    return np.array([w not in STOPWORDS and len(w) > 1 for w in enc.words], dtype=bool)


def _stems(enc: Encoded, mask: np.ndarray) -> list[str]:
    return [stem(w) for w, keep in zip(enc.words, mask, strict=True) if keep]


def _weights(enc: Encoded, question_stems: set[str]) -> np.ndarray:
    content = _content_mask(enc)
    weights = np.zeros(len(enc.words), dtype=np.float32)
    for i, (word, keep) in enumerate(zip(enc.words, content, strict=True)):
        if keep:
            weights[i] = QUESTION_WEIGHT if stem(word) in question_stems else 1.0
    return weights


def _pool(enc: Encoded, weights: np.ndarray) -> np.ndarray:
    if enc.word_vecs.shape[0] == 0 or weights.sum() <= 0:
        return np.zeros(enc.vec.shape, dtype=np.float32)
    return _unit(weights @ enc.word_vecs)


def _word_mean(enc: Encoded) -> np.ndarray:
    if enc.word_vecs.shape[0] == 0:
        return enc.vec
    return _unit(enc.word_vecs.mean(axis=0))


def _clause_starts(text: str, spans: tuple[tuple[int, int], ...]) -> set[int]:
    """Word indices that start a sentence or clause."""
    starts = {0}
    for match in _CLAUSE_BREAK.finditer(text):
        pos = match.end()
        for i, (s, _e) in enumerate(spans):
            if s >= pos:
                starts.add(i)
                break
    return starts


def candidate_spans(answer: Encoded) -> list[tuple[int, int]]:
    """Word ranges [start, end) an answer's key-point evidence may come from."""
    n = len(answer.words)
    if n == 0:
        return []
    ranges: set[tuple[int, int]] = {(0, n)}
    starts = sorted(_clause_starts(answer.text, answer.spans))
    bounds = [*starts, n]
    for a, b in zip(bounds, bounds[1:], strict=False):
        if b > a:
            ranges.add((a, b))
    for size in WINDOW_SIZES:
        if size >= n:
            continue
        for s in range(0, n - size + 1, 1 if size <= 5 else 2):
            ranges.add((s, s + size))
    return sorted(ranges)


def _span_vectors(answer: Encoded, ranges: list[tuple[int, int]]) -> np.ndarray:
    cumulative = np.vstack([np.zeros((1, answer.word_vecs.shape[1]), np.float32), np.cumsum(answer.word_vecs, 0)])
    idx = np.array(ranges)
    sums = cumulative[idx[:, 1]] - cumulative[idx[:, 0]]
    return _unit(sums / (idx[:, 1] - idx[:, 0])[:, None])


def compute(
    question: Encoded,
    reference: Encoded,
    key_points: list[tuple[str, Encoded]],
    answer: Encoded,
) -> Features:
    """All features of `answer`; `key_points` pairs each point with its encoding."""
    question_stems = {stem(w) for w in question.words if w not in STOPWORDS and len(w) > 1}
    ans_content = _content_mask(answer)
    ref_content = _content_mask(reference)
    ans_stems = _stems(answer, ans_content)
    ref_stems = _stems(reference, ref_content)
    ans_novel = set(ans_stems) - question_stems
    ref_novel = set(ref_stems) - question_stems or set(ref_stems)
    ans_w = _weights(answer, question_stems)
    ref_w = _weights(reference, question_stems)

    sim_ref = float(answer.vec @ reference.vec)
    sim_question = float(answer.vec @ question.vec)
    sim_novel = float(_pool(answer, ans_w) @ _pool(reference, ref_w))

    if answer.word_vecs.shape[0] and reference.word_vecs.shape[0] and ans_content.any() and ref_content.any():
        sims = reference.unit_word_vecs @ answer.unit_word_vecs.T  # (ref words, answer words)
        best_for_ref = sims[:, ans_content].max(axis=1)
        best_for_ans = sims[ref_content, :].max(axis=0)
        align_recall = float((ref_w * best_for_ref).sum() / max(ref_w.sum(), 1e-9))
        align_precision = float((ans_w * best_for_ans).sum() / max(ans_w.sum(), 1e-9)) if ans_w.sum() else 0.0
    else:
        align_recall = align_precision = 0.0

    lex_recall = len(ans_novel & ref_novel) / max(1, len(ref_novel))
    lex_precision = len(ans_novel & ref_novel) / max(1, len(ans_novel))

    covered: list[KeyPointMatch] = []
    missed: list[str] = []
    coverage: list[float] = []
    ranges = candidate_spans(answer)
    span_vecs = _span_vectors(answer, ranges) if ranges else None
    for point, enc in key_points:
        if span_vecs is None:
            coverage.append(0.0)
            missed.append(point)
            continue
        sims_kp = span_vecs @ _word_mean(enc)
        best = int(np.argmax(sims_kp))
        value = float(sims_kp[best])
        coverage.append(value)
        if value >= COVER_THRESHOLD:
            s, e = ranges[best]
            evidence = answer.text[answer.spans[s][0] : answer.spans[e - 1][1]]
            covered.append(KeyPointMatch(point=point, evidence=evidence, similarity=round(value, 3)))
        else:
            missed.append(point)
    cov = np.array(coverage) if coverage else np.zeros(1)

    n_ans = int(ans_content.sum())
    n_ref = int(ref_content.sum())
    neg_a = any(w in NEGATIONS for w in answer.words)
    neg_r = any(w in NEGATIONS for w in reference.words)
    values = {
        "sim_ref": sim_ref,
        "sim_question": sim_question,
        "sim_novel": sim_novel,
        "align_recall": align_recall,
        "align_precision": align_precision,
        "lex_recall": lex_recall,
        "lex_precision": lex_precision,
        "kp_mean": float(cov.mean()),
        "kp_min": float(cov.min()),
        "kp_covered": float((cov >= COVER_THRESHOLD).mean()),
        "novel_share": len(ans_novel) / max(1, len(set(ans_stems))),
        "log_words": float(np.log1p(n_ans)),
        "length_ratio": float(np.log((1 + n_ans) / (1 + n_ref))),
        "negation_mismatch": float(neg_a != neg_r),
    }
    return Features(values=values, covered=tuple(covered), missed=tuple(missed), coverage=tuple(coverage))
