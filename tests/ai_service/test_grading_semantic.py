"""The semantic grader on small hand-written examples, with the real MiniLM model."""

from __future__ import annotations

import pytest

from ai_service.grading import semantic
from ai_service.grading.features import FEATURE_NAMES, reference_points
from ai_service.grading.types import GradeInput

CACHE_Q = "Why would you put a cache in front of a database, and what problem does it bring?"
CACHE_REF = (
    "A cache keeps frequently read data in memory so repeated reads are served quickly and the database gets "
    "less load. The main problem is invalidation: cached data can become stale when the underlying rows change, "
    "so you need expiry times or explicit invalidation on writes."
)
CACHE_POINTS = (
    "cache serves repeated reads from memory faster",
    "cache reduces load on the database",
    "cached data can become stale",
    "invalidate with expiry times or on writes",
)
THREAD_Q = "What is the difference between a process and a thread?"
THREAD_REF = (
    "A process has its own isolated memory space, while threads run inside a process and share its memory. "
    "Creating and switching threads is cheaper than processes, but shared memory means threads need "
    "synchronization such as locks to avoid race conditions."
)
TLS_Q = "How does HTTPS protect data in transit?"
TLS_REF = (
    "HTTPS wraps HTTP in TLS. During the handshake the server proves its identity with a certificate signed by a "
    "trusted authority, and both sides agree on session keys. The traffic is then encrypted, so eavesdroppers "
    "cannot read it, and integrity checks detect tampering."
)

# (question, reference, key points, correct, partial, wrong)
CASES = [
    (
        CACHE_Q,
        CACHE_REF,
        CACHE_POINTS,
        "Reads that happen again and again can be answered from memory instead of hitting the database, which "
        "makes them faster and takes load off the database. The catch is staleness: when rows change the cached "
        "copy is out of date, so I set a TTL or evict the entry whenever we write.",
        "It makes repeated reads faster because the data is kept in memory.",
        "A cache is used to encrypt the database so that attackers cannot read the tables.",
    ),
    (
        THREAD_Q,
        THREAD_REF,
        (),
        "Each process gets its own separate address space, whereas threads live inside one process and share the "
        "same memory. Threads are lighter to create and to context-switch, but because they share data you have "
        "to guard it with locks or other synchronization to avoid races.",
        "Threads share memory with each other inside a process, processes do not.",
        "A process is a kind of hard disk and a thread is a network cable that connects two computers.",
    ),
    (
        TLS_Q,
        TLS_REF,
        (),
        "HTTPS runs HTTP over TLS: in the handshake the server presents a certificate from a trusted CA to prove "
        "who it is and the two sides negotiate symmetric session keys. After that everything is encrypted so "
        "nobody listening on the network can read it, and message authentication codes reveal if someone "
        "modified the data.",
        "It encrypts the traffic so other people on the network cannot read it.",
        "HTTPS makes the website load faster by compressing the images and caching them in the browser.",
    ),
]


@pytest.fixture(scope="module", autouse=True)
def model() -> None:
    semantic.warm_up()


@pytest.mark.parametrize("case", CASES, ids=["cache", "threads", "https"])
def test_correct_beats_partial_beats_wrong(case: tuple[str, str, tuple[str, ...], str, str, str]) -> None:
    question, reference, points, correct, partial, wrong = case
    grades = semantic.grade_many([GradeInput(question, reference, a, points) for a in (correct, partial, wrong)])
    scores = [g.score for g in grades]
    assert all(s is not None for s in scores), grades
    good, half, bad = (float(s) for s in scores if s is not None)
    assert good > half > bad, scores
    assert good - bad >= 3.0, scores
    assert all(0.0 <= s <= 10.0 for s in (good, half, bad))
    # A complete answer covers more key points than a partial one.
    assert len(grades[0].covered) >= len(grades[1].covered) >= len(grades[2].covered)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("?!", "empty"),
        ("qwxzkj vbnmrtp plkjhgf zzxqw", "garbled"),
        ("I don't know", "too_short"),
        ("No, it is not.", "too_short"),
        (CACHE_Q, "copies_question"),
        ("Why would you put a cache in front of a database", "copies_question"),
        ("I enjoy hiking in the mountains with my dog on sunny weekends.", "off_topic"),
    ],
)
def test_insufficient_evidence(answer: str, reason: str) -> None:
    grade = semantic.grade(GradeInput(CACHE_Q, CACHE_REF, answer, CACHE_POINTS))
    assert grade.insufficient_evidence
    assert grade.score is None
    assert grade.reason == reason
    assert grade.covered == ()
    assert set(grade.missed) == set(CACHE_POINTS)


def test_covered_points_quote_a_span_of_the_answer() -> None:
    answer = CASES[0][3]
    grade = semantic.grade(GradeInput(CACHE_Q, CACHE_REF, answer, CACHE_POINTS))
    assert grade.covered, grade
    for match in grade.covered:
        assert match.evidence, match
        assert match.evidence in answer
        assert len(match.evidence) < len(answer) or len(grade.covered) == 1
        assert 0.0 < match.similarity <= 1.0
    assert {m.point for m in grade.covered} | set(grade.missed) == set(CACHE_POINTS)
    assert not {m.point for m in grade.covered} & set(grade.missed)


def test_features_record_the_grader_inputs() -> None:
    grade = semantic.grade(GradeInput(THREAD_Q, THREAD_REF, CASES[1][3]))
    assert set(FEATURE_NAMES) <= set(grade.features)
    for key in ("probability", "logit", "baseline_cosine", "key_points", "question_share"):
        assert key in grade.features
    assert grade.score == pytest.approx(round(10 * grade.features["probability"], 1), abs=0.051)
    # Without key points the grader derives them from the reference answer.
    assert grade.features["key_points"] == len(reference_points(THREAD_REF))
    contributions = semantic.contributions(grade)
    assert set(contributions) == set(FEATURE_NAMES)


def test_words_copied_from_the_question_are_demoted() -> None:
    # Repeating the question's words around a wrong claim must not beat a short correct answer.
    parroting = "A process and a thread differ: the difference between a process and a thread is the thread."
    correct = "Threads share the memory of their process; each process has its own isolated memory."
    grades = semantic.grade_many([GradeInput(THREAD_Q, THREAD_REF, a) for a in (parroting, correct)])
    assert grades[1].score is not None
    assert grades[0].score is None or grades[0].score < grades[1].score


def test_alternative_references_use_the_best_match() -> None:
    question = "The bulb does not light. Why?"
    primary = "The bulb is not in a closed path with the battery."
    alternative = "There is a gap in the circuit between the bulb and the battery."
    answer = "Because there is a gap in the circuit, so the current cannot reach the bulb from the battery."
    alone = semantic.grade(GradeInput(question, primary, answer))
    both = semantic.grade(GradeInput(question, primary, answer, alternative_references=(alternative,)))
    assert alone.score is not None and both.score is not None
    assert both.features["reference_index"] == 1.0
    assert both.score >= alone.score


def test_reference_points_split_lists() -> None:
    reference = "Modes: 1. Replication keeps copies 2. Partitioning splits the data \u25cf Both cost extra servers"
    points = reference_points(reference)
    assert points == ("Replication keeps copies", "Partitioning splits the data", "Both cost extra servers")
