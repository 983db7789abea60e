"""The semantic grader: MiniLM similarity, key-point coverage and word alignment, calibrated to 0..10.

For each answer:
1. Text checks that need no model: `empty` (no letters or digits), `too_short` (no content word
   once non-answers such as "I don't know" are removed), `garbled` (most words are keyboard noise).
2. One forward pass of all-MiniLM-L6-v2 over the answer (reference answers, key points and
   questions come from an LRU cache), giving a sentence vector and a vector per word.
3. Features (features.py): sentence similarities, similarity with question words demoted, word
   alignment both ways, key-point coverage (best span per point, quoted as evidence), lexical
   overlap, length and negation. With alternative reference answers the one the answer matches
   best (alignment recall + cosine) is used.
4. `copies_question` (the answer only restates the question) and `off_topic` (nothing in it
   relates to the question or the reference) are decided from those features.
5. Calibration (calibration.py): logistic regression fitted on human grades -> score 0..10.

The model is loaded once per process (encoder.load_encoder); call `warm_up()` at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import calibration, encoder
from .features import FEATURE_NAMES, Features, compute, match_key, question_stems_of, reference_points
from .text import content_words
from .types import GradeInput, GradeOutput

# semantic-2: the choice_mismatch feature; the default profile at a typical set's level (calibration.py).
VERSION = "semantic-2"

# Phrases that say "no answer"; removed before counting content words.
_NON_ANSWER = re.compile(
    r"\b(?:i\s+)?(?:do\s*n[o']?t|dont|didn'?t|dunno)\s+(?:really\s+)?(?:know|remember|understand)\b"
    r"|\bidk\b|\bno\s+(?:idea|clue)\b|\bnot\s+sure\b|\bpass\b",
    re.IGNORECASE,
)
_ALNUM = re.compile(r"[A-Za-z0-9]")
_ALPHA_WORD = re.compile(r"[a-z]+")
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{5,}")
_PLACEHOLDER = re.compile(r"^x+$")

# garbled: at least this share of the alphabetic words (3+ letters) look like keyboard noise
GARBLED_SHARE = 0.6
# copies_question: no new content stem, at least this share of the question's stems, and the
# answer is closer to the question than to the reference
COPY_QUESTION_SHARE = 0.5
# off_topic: all similarities below these and no shared content stem with question or reference
OFF_TOPIC_SIMILARITY = 0.15
OFF_TOPIC_COVERAGE = 0.3


@dataclass(frozen=True)
class Analysis:
    """An answer's checks and features, before calibration."""

    reason: str  # "" when gradable
    features: Features | None
    extra: dict[str, float]
    # The answer's sentence embedding (None when a text check stopped it before the model).
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)


def warm_up() -> None:
    """Load the model and the calibration (raises RuntimeError if the model cannot load)."""
    encoder.load_encoder()
    calibration.load()


def available() -> bool:
    try:
        warm_up()
    except Exception:
        return False
    return True


@lru_cache(maxsize=65536)
def _pieces_per_letter(word: str) -> float:
    return encoder.load_encoder().count_pieces(word) / len(word)


def _implausible(word: str) -> bool:
    """Looks like keyboard noise: no vowel, five consonants in a row, or shredded into word pieces."""
    if len(word) < 3 or _PLACEHOLDER.match(word):
        return False
    if not re.search(r"[aeiouy]", word) or _CONSONANT_RUN.search(word):
        return True
    return len(word) >= 5 and _pieces_per_letter(word) >= 0.5


def _text_reason(answer: str) -> tuple[str, dict[str, float]]:
    if not _ALNUM.search(answer):
        return "empty", {"answer_words": 0.0}
    words = [w for w in _ALPHA_WORD.findall(answer.lower()) if len(w) >= 3]
    if words:
        noise = sum(_implausible(w) for w in words) / len(words)
        if noise >= GARBLED_SHARE:
            return "garbled", {"noise_share": round(noise, 4)}
    remaining = _NON_ANSWER.sub(" ", answer)
    n_content = len(content_words(remaining))
    if n_content == 0:
        return "too_short", {"answer_content_words": 0.0}
    return "", {"answer_content_words": float(n_content)}


def _points(item: GradeInput, reference: str) -> tuple[str, ...]:
    return tuple(item.key_points) if item.key_points else reference_points(reference)


def _references(item: GradeInput) -> list[str]:
    refs = [item.reference_answer, *item.alternative_references]
    unique = list(dict.fromkeys(r for r in refs if r.strip()))
    return unique or [item.question]


def analyze_many(items: Sequence[GradeInput]) -> list[Analysis]:
    """Checks and features for each item, in order (no calibration)."""
    enc = encoder.load_encoder()
    checks = [_text_reason(item.answer) for item in items]
    todo = [i for i, (reason, _extra) in enumerate(checks) if not reason]
    cached: list[str] = []
    for i in todo:
        item = items[i]
        cached.append(item.question)
        for ref in _references(item):
            cached.append(ref)
            cached.extend(_points(item, ref))
    encodings = {text: e for text, e in zip(cached, enc.encode_cached(cached), strict=True)}
    answers = enc.encode([items[i].answer for i in todo])
    results: list[Analysis] = [Analysis(reason, None, extra) for reason, extra in checks]
    for i, answer in zip(todo, answers, strict=True):
        item = items[i]
        question = encodings[item.question]
        references = _references(item)
        ref_index = 0
        if len(references) > 1:  # the reference the answer matches best (first one on ties)
            keys = [match_key(question, encodings[ref], answer) for ref in references]
            ref_index = max(range(len(keys)), key=lambda k: (keys[k], -k))
        reference = references[ref_index]
        points = _points(item, reference)
        feats = compute(question, encodings[reference], [(p, encodings[p]) for p in points], answer)
        baseline = float(answer.vec @ encodings[references[0]].vec)
        v = feats.values
        question_stems = question_stems_of(question)
        answer_stems = {s for s in answer.stems if s}
        question_share = len(answer_stems & question_stems) / max(1, len(question_stems))
        extra = dict(checks[i][1])
        extra.update(
            {
                "baseline_cosine": round(baseline, 4),
                "reference_index": float(ref_index),
                "key_points": float(len(feats.coverage)),
                "question_share": round(question_share, 4),
            }
        )
        reason = ""
        if v["novel_share"] == 0.0 and question_share >= COPY_QUESTION_SHARE and v["sim_question"] > v["sim_ref"]:
            reason = "copies_question"
        elif (
            max(v["sim_ref"], v["sim_question"], v["sim_novel"]) < OFF_TOPIC_SIMILARITY
            and max(feats.coverage or (0.0,)) < OFF_TOPIC_COVERAGE
            and v["lex_recall"] == 0.0
            and question_share == 0.0
        ):
            reason = "off_topic"
        results[i] = Analysis(reason, feats, extra, answer.vec)
    return results


def grade_many(items: Sequence[GradeInput], profile: str | None = None) -> list[GradeOutput]:
    """Grade several answers in one model batch. `profile` picks a calibration intercept."""
    params = calibration.load()
    if params.grader_version != VERSION or tuple(params.features) != FEATURE_NAMES:
        raise RuntimeError(f"calibration {params.grader_version} does not match grader {VERSION}; refit it")
    outputs = []
    for item, analysis in zip(items, analyze_many(items), strict=True):
        feats = analysis.features
        values: dict[str, float] = {k: round(v, 4) for k, v in (feats.values if feats else {}).items()}
        values.update(analysis.extra)
        if analysis.reason or feats is None:
            # Nothing in the answer counts as evidence, so every key point is missed.
            points = _points(item, _references(item)[int(analysis.extra.get("reference_index", 0))])
            outputs.append(GradeOutput(None, True, analysis.reason, (), points, values, vector=analysis.vector))
            continue
        logit = params.logit(feats.values, profile)
        probability = calibration.sigmoid(logit)
        values["logit"] = round(logit, 4)
        values["probability"] = round(probability, 4)
        outputs.append(
            GradeOutput(
                score=round(10.0 * probability, 1),
                insufficient_evidence=False,
                reason="",
                covered=feats.covered,
                missed=feats.missed,
                features=values,
                vector=analysis.vector,
            )
        )
    return outputs


def grade(item: GradeInput, profile: str | None = None) -> GradeOutput:
    return grade_many([item], profile)[0]


def contributions(grade_output: GradeOutput) -> dict[str, float]:
    """Each feature's share of the logit of a graded answer (empty when insufficient)."""
    if grade_output.insufficient_evidence:
        return {}
    return calibration.load().contributions(grade_output.features)
