"""Features of one answer against its question, reference answer and key points.

Everything here is numpy on top of `Encoded` texts (see encoder.py); nothing loads a model. The
features are the inputs of the calibration model (calibration.py) and are stored with each grade
for provenance. Words the answer shares with the question are demoted (weight QUESTION_WEIGHT):
repeating the question shows nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from ..types import KeyPointMatch
from .encoder import Encoded
from .text import choice_mismatch, content_words, sentences

QUESTION_WEIGHT = 0.2
# Stopwords still carry context in span and key-point vectors, at this weight.
STOPWORD_SPAN_WEIGHT = 0.3
# A key point counts as covered when its best span reaches this cosine (word-mean vectors).
COVER_THRESHOLD = 0.6
WINDOW_SIZES = (5, 8, 12)
NEGATIONS = frozenset(
    {
        "not",
        "no",
        "never",
        "cannot",
        "cant",
        "don",
        "doesn",
        "didn",
        "isn",
        "aren",
        "wasn",
        "weren",
        "won",
        "wouldn",
        "shouldn",
        "couldn",
        "without",
        "nothing",
        "none",
        "neither",
        "nor",
    }
)
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
    "choice_mismatch",  # the question asks X or Y (or yes/no) and the answer picks the option the reference does not
)


@dataclass(frozen=True)
class Features:
    values: dict[str, float]
    covered: tuple[KeyPointMatch, ...]
    missed: tuple[str, ...]
    coverage: tuple[float, ...]  # best span cosine per key point, in order


def _unit(m: np.ndarray) -> np.ndarray:
    return m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-9)


def question_stems_of(question: Encoded) -> set[str]:
    return {s for s in question.stems if s}


def _weights(enc: Encoded, question_stems: set[str]) -> np.ndarray:
    """1 for a content word, QUESTION_WEIGHT for one the question contains, 0 for the others."""
    return np.array(
        [(QUESTION_WEIGHT if s in question_stems else 1.0) if s else 0.0 for s in enc.stems], dtype=np.float32
    )


def _alignment(question_stems: set[str], reference: Encoded, answer: Encoded) -> tuple[float, float]:
    """(recall, precision) of the word alignment, question words demoted; both 0 without content."""
    ans_content, ref_content = answer.content_mask, reference.content_mask
    if not (answer.word_vecs.shape[0] and reference.word_vecs.shape[0] and ans_content.any() and ref_content.any()):
        return 0.0, 0.0
    ans_w = _weights(answer, question_stems)
    ref_w = _weights(reference, question_stems)
    sims = reference.unit_word_vecs @ answer.unit_word_vecs.T  # (ref words, answer words)
    best_for_ref = sims[:, ans_content].max(axis=1)
    best_for_ans = sims[ref_content, :].max(axis=0)
    recall = float((ref_w * best_for_ref).sum() / max(ref_w.sum(), 1e-9))
    precision = float((ans_w * best_for_ans).sum() / max(ans_w.sum(), 1e-9)) if ans_w.sum() else 0.0
    return recall, precision


def match_key(question: Encoded, reference: Encoded, answer: Encoded) -> float:
    """How well an answer matches one of several references: alignment recall + cosine."""
    return _alignment(question_stems_of(question), reference, answer)[0] + float(answer.vec @ reference.vec)


def _pool(enc: Encoded, weights: np.ndarray) -> np.ndarray:
    if enc.word_vecs.shape[0] == 0 or weights.sum() <= 0:
        return np.zeros(enc.vec.shape, dtype=np.float32)
    return _unit(weights @ enc.word_vecs)


# List markers inside a reference: bullet characters, "- Item" dashes, "1." / "2)" numbers.
_BULLET = re.compile(
    r"[\u25cf\u25cb\u2022\u25aa\u25e6\u2023\u2043]|(?:^|(?<=\s))-\s*(?=[A-Z][a-z])|(?:^|(?<=\s))\d{1,2}[.)]\s*(?=[A-Z])"
)


def reference_points(reference: str, limit: int = 8) -> tuple[str, ...]:
    """Key points from a reference answer alone: its sentences, also split at list bullets and numbers.

    Extends text.derive_key_points for rubric-style references ("● a ● b", "1. a 2. b"); keeps the
    first `limit` parts with at least two content words.
    """
    parts: list[str] = []
    for piece in _BULLET.split(reference):
        for sentence in sentences(piece):
            sentence = sentence.strip(" :;,-")
            if len(content_words(sentence)) >= 2:
                parts.append(sentence)
    if not parts:
        return (reference.strip(),) if reference.strip() else ()
    return tuple(parts[:limit])


_SENTENCE_BREAK = re.compile(r"[.!?;\n]")


def _starts(text: str, spans: tuple[tuple[int, int], ...], pattern: re.Pattern[str]) -> list[int]:
    """Word indices that begin a segment, a segment ending wherever `pattern` matches."""
    starts = {0}
    word_starts = [s for s, _e in spans]
    for match in pattern.finditer(text):
        pos = match.end()
        for i, s in enumerate(word_starts):
            if s >= pos:
                starts.add(i)
                break
    return sorted(starts)


def candidate_spans(answer: Encoded) -> tuple[list[tuple[int, int]], list[int]]:
    """Word ranges [start, end) an answer's key-point evidence may come from, and the clause starts.

    The ranges: the whole answer, its sentences, its clauses, and sliding windows of 5, 8 and 12
    words.
    """
    n = len(answer.words)
    if n == 0:
        return [], []
    ranges: set[tuple[int, int]] = {(0, n)}
    clause_starts = _starts(answer.text, answer.spans, _CLAUSE_BREAK)
    for starts in (_starts(answer.text, answer.spans, _SENTENCE_BREAK), clause_starts):
        bounds = [*starts, n]
        for a, b in pairwise(bounds):
            if b > a:
                ranges.add((a, b))
    for size in WINDOW_SIZES:
        if size >= n:
            continue
        for s in range(0, n - size + 1, 1 if size <= 5 else 2):
            ranges.add((s, s + size))
    return sorted(ranges), clause_starts


def _expand(start: int, end: int, clause_starts: list[int], n: int) -> tuple[int, int]:
    """Widen a word range to whole clauses, so the quoted evidence reads as a phrase."""
    new_start = max(s for s in clause_starts if s <= start)
    later = [s for s in clause_starts if s >= end]
    return new_start, (min(later) if later else n)


def _span_weights(enc: Encoded, question_stems: set[str]) -> np.ndarray:
    """Word weights for pooling spans and key points: question words and stopwords count less."""
    weights = _weights(enc, question_stems)
    weights[weights == 0] = STOPWORD_SPAN_WEIGHT
    return weights


def _span_vectors(answer: Encoded, ranges: list[tuple[int, int]], weights: np.ndarray) -> np.ndarray:
    """Weighted mean word vector of each range, from cumulative sums (one pass for all ranges)."""
    dim = answer.word_vecs.shape[1]
    cumulative = np.vstack([np.zeros((1, dim), np.float32), np.cumsum(answer.word_vecs * weights[:, None], 0)])
    mass = np.concatenate([[0.0], np.cumsum(weights)])
    idx = np.array(ranges)
    sums = cumulative[idx[:, 1]] - cumulative[idx[:, 0]]
    return _unit(sums / np.maximum(mass[idx[:, 1]] - mass[idx[:, 0]], 1e-9)[:, None])


def _pooled_point(enc: Encoded, question_stems: set[str]) -> np.ndarray:
    if enc.word_vecs.shape[0] == 0:
        return enc.vec
    weights = _span_weights(enc, question_stems)
    return _unit(weights @ enc.word_vecs)


def compute(
    question: Encoded,
    reference: Encoded,
    key_points: list[tuple[str, Encoded]],
    answer: Encoded,
) -> Features:
    """All features of `answer`; `key_points` pairs each point with its encoding."""
    question_stems = question_stems_of(question)
    ans_content = answer.content_mask
    ref_content = reference.content_mask
    ans_stems = [s for s in answer.stems if s]
    ref_stems = [s for s in reference.stems if s]
    ans_novel = set(ans_stems) - question_stems
    ref_novel = set(ref_stems) - question_stems or set(ref_stems)
    ans_w = _weights(answer, question_stems)
    ref_w = _weights(reference, question_stems)

    sim_ref = float(answer.vec @ reference.vec)
    sim_question = float(answer.vec @ question.vec)
    sim_novel = float(_pool(answer, ans_w) @ _pool(reference, ref_w))

    align_recall, align_precision = _alignment(question_stems, reference, answer)

    lex_recall = len(ans_novel & ref_novel) / max(1, len(ref_novel))
    lex_precision = len(ans_novel & ref_novel) / max(1, len(ans_novel))

    covered: list[KeyPointMatch] = []
    missed: list[str] = []
    coverage: list[float] = []
    ranges, clause_starts = candidate_spans(answer)
    span_vecs = _span_vectors(answer, ranges, _span_weights(answer, question_stems)) if ranges else None
    for point, enc in key_points:
        if span_vecs is None:
            coverage.append(0.0)
            missed.append(point)
            continue
        sims_kp = span_vecs @ _pooled_point(enc, question_stems)
        best = int(np.argmax(sims_kp))
        value = float(sims_kp[best])
        coverage.append(value)
        if value >= COVER_THRESHOLD:
            s, e = _expand(*ranges[best], clause_starts, len(answer.words))
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
        "choice_mismatch": float(choice_mismatch(question.text, reference.text, answer.text)),
    }
    return Features(values=values, covered=tuple(covered), missed=tuple(missed), coverage=tuple(coverage))
