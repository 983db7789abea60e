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
