"""The offline question bank shipped as package data (see README.md beside this file)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

BANK_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class BankQuestion:
    id: str
    area: str
    competency: str
    type: str
    difficulty: str
    text: str
    reference_answer: str
    key_points: tuple[str, ...]
    tags: tuple[str, ...]


@lru_cache(maxsize=1)
def load_bank() -> tuple[BankQuestion, ...]:
    questions: list[BankQuestion] = []
    for path in sorted(BANK_DIR.glob("*.json")):
        for raw in json.loads(path.read_text(encoding="utf-8")):
            questions.append(
                BankQuestion(
                    id=raw["id"],
                    area=raw["area"],
                    competency=raw["competency"],
                    type=raw["type"],
                    difficulty=raw["difficulty"],
                    text=raw["text"],
                    reference_answer=raw["reference_answer"],
                    key_points=tuple(raw["key_points"]),
                    tags=tuple(raw.get("tags", ())),
                )
            )
    return tuple(questions)
