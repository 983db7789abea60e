"""Small, pure text helpers shared by the graders."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9][a-z0-9+#.\-]*[a-z0-9+#]|[a-z0-9]")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "else",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "into",
        "onto",
        "over",
        "under",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "we",
        "you",
        "i",
        "me",
        "my",
        "our",
        "your",
        "his",
        "her",
        "not",
        "no",
        "do",
        "does",
        "did",
        "doing",
        "have",
        "has",
        "had",
        "having",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "so",
        "such",
        "than",
        "too",
        "very",
        "just",
        "also",
        "only",
        "about",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "own",
        "same",
        "s",
        "t",
        "don",
        "now",
        "up",
        "down",
        "out",
        "off",
        "again",
        "further",
        "once",
        "here",
        "because",
        "while",
        "until",
        "through",
        "during",
        "before",
        "after",
        "above",
        "below",
        "between",
        "use",
        "used",
        "using",
        "one",
        "two",
        "get",
        "got",
        "make",
        "makes",
        "made",
        "like",
        "e",
        "g",
        "eg",
        "ie",
        "etc",
    ]
)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 1]


def stem(word: str) -> str:
    """A deliberately crude suffix stripper: enough to match 'caching'/'cache', 'tests'/'testing'."""
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s", "e"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def stems(text: str) -> set[str]:
    return {stem(w) for w in content_words(text)}


def sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE.split(text) if p.strip()]
    return parts or ([text.strip()] if text.strip() else [])


def derive_key_points(reference_answer: str, limit: int = 6) -> tuple[str, ...]:
    """Key points from a reference answer alone: its sentences, longest first kept in order."""
    parts = [s for s in sentences(reference_answer) if len(content_words(s)) >= 2]
    return tuple(parts[:limit]) if parts else ((reference_answer.strip(),) if reference_answer.strip() else ())


# Choice questions ("Is X or Y better?", "Can you ...?"): the option the reference picks.
_TOKEN = re.compile(r"[a-z0-9]+(?:[-/][a-z0-9]+)*")
_NOT_AN_OPTION = frozenset(
    {"not", "why", "how", "what", "which", "when", "where", "whether", "both", "either", "neither", "less", "more"}
    | {"and"}
)
_YES_NO_QUESTION = re.compile(
    r"^\s*(?:can|could|is|are|was|were|does|do|did|will|would|should|has|have|may|might)\b", re.IGNORECASE
)
_YES_NO_ANSWER = re.compile(r"^\W*(yes|yeah|true|no|nope|false)\b", re.IGNORECASE)


def choice_options(question: str) -> list[tuple[str, str]]:
    """The "X or Y" pairs asked in the question's sentences that end with a question mark."""
    pairs = []
    for sentence in re.split(r"(?<=[?.!])\s+", question):
        if "?" not in sentence:
            continue
        # Articles carry no option ("a round-robin or a sticky balancer").
        tokens = [t for t in _TOKEN.findall(sentence.lower()) if t not in ("a", "an", "the")]
        for i in range(1, len(tokens) - 1):
            a, b = tokens[i - 1], tokens[i + 1]
            if tokens[i] == "or" and a != b and a not in _NOT_AN_OPTION and b not in _NOT_AN_OPTION:
                pairs.append((a, b))
    return pairs


def _first_named(text: str, options: tuple[str, str]) -> str | None:
    return next((t for t in _TOKEN.findall(text.lower()) if t in options), None)


def _yes_no(text: str) -> str | None:
    match = _YES_NO_ANSWER.match(text)
    if match is None:
        return None
    return "yes" if match.group(1).lower() in ("yes", "yeah", "true") else "no"


def choice_mismatch(question: str, reference: str, answer: str) -> bool:
    """The question asks for one choice (X or Y; yes or no), the reference makes it, the answer makes the other.

    Answers that pick the other option share most words with the reference ("connection-oriented
    is better, because ...") and embed close to it; only the pick tells them apart. Questions that
    list several alternatives, and references that name both options, decide nothing here.
    """
    pairs = choice_options(question)
    if len(pairs) == 1:
        options = pairs[0]
        picked = _first_named(reference, options)
        if picked is None:
            return False
        other = options[1] if picked == options[0] else options[0]
        if other in _TOKEN.findall(reference.lower()):
            return False
        said = _first_named(answer, options)
        return said is not None and said != picked
    if pairs:
        return False
    first_asked = question.split("?")[0].split(".")[-1]
    if "?" in question and _YES_NO_QUESTION.match(first_asked):
        expected = _yes_no(reference)
        said = _yes_no(answer)
        return expected is not None and said is not None and said != expected
    return False
