"""Grade a CSV of answers offline with the embedded semantic grader.

    python manage.py grade_answers --input answers.csv --output scored.csv

Input columns: question, reference_answer, answer and optionally key_points (separated by `|`).
The output has the same rows and columns plus score (0-10, blank when the evidence is
insufficient), insufficient_evidence, covered_key_points, missed_key_points (`|`-joined) and
feedback.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ai_service import feedback
from ai_service.grading import lexical, semantic
from ai_service.grading.types import GradeInput, GradeOutput

REQUIRED = ("question", "reference_answer", "answer")
ADDED = ("score", "insufficient_evidence", "covered_key_points", "missed_key_points", "feedback")


class Command(BaseCommand):
    help = "Grade answers in a CSV (question, reference_answer, answer[, key_points]) and write a scored CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", required=True, help="CSV with question, reference_answer, answer[, key_points]")
        parser.add_argument("--output", required=True, help="where to write the scored CSV")
        parser.add_argument("--batch-size", type=int, default=64)
        parser.add_argument(
            "--grader", choices=["semantic", "lexical"], default="semantic", help="lexical needs no model (fallback)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["input"])
        rows, fieldnames = self._read(source)
        grade_many = self._grader(options["grader"])
        batch_size = max(1, int(options["batch_size"]))
        outputs: list[GradeOutput] = []
        with tqdm(total=len(rows), desc="grading", unit="answer", file=sys.stderr) as bar:
            for start in range(0, len(rows), batch_size):
                chunk = rows[start : start + batch_size]
                outputs.extend(grade_many([self._item(row) for row in chunk]))
                bar.update(len(chunk))
        target = Path(options["output"])
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=[*fieldnames, *[c for c in ADDED if c not in fieldnames]])
                writer.writeheader()
                for row, grade in zip(rows, outputs, strict=True):
                    writer.writerow({**row, **self._columns(grade)})
        except OSError as exc:
            raise CommandError(f"cannot write {target}: {exc.strerror or exc}") from exc
        insufficient = sum(1 for g in outputs if g.insufficient_evidence)
        self.stdout.write(f"graded {len(rows)} answers ({insufficient} with insufficient evidence) -> {target}")

    def _read(self, source: Path) -> tuple[list[dict[str, str]], list[str]]:
        if not source.is_file():
            raise CommandError(f"input file {source} does not exist or is not a file")
        try:
            with source.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                fieldnames = [f.strip() for f in (reader.fieldnames or [])]
                reader.fieldnames = fieldnames
                if not fieldnames:
                    raise CommandError(f"{source} is empty; expected a header with columns {', '.join(REQUIRED)}")
                missing = [c for c in REQUIRED if c not in fieldnames]
                if missing:
                    raise CommandError(
                        f"{source} lacks required column(s) {', '.join(missing)}; found: {', '.join(fieldnames)}"
                    )
                rows = []
                for line_no, row in enumerate(reader, start=2):
                    if None in row:
                        raise CommandError(f"{source} line {line_no}: more fields than the header has")
                    rows.append({k: (v or "") for k, v in row.items()})
        except UnicodeDecodeError as exc:
            raise CommandError(f"{source} is not UTF-8 text: {exc}") from exc
        except csv.Error as exc:
            raise CommandError(f"{source} is not a readable CSV file: {exc}") from exc
        except OSError as exc:
            raise CommandError(f"cannot read {source}: {exc.strerror or exc}") from exc
        return rows, fieldnames

    def _grader(self, name: str) -> Any:
        if name == "semantic":
            try:
                semantic.warm_up()
                return semantic.grade_many
            except Exception as exc:
                self.stderr.write(f"semantic grader unavailable ({exc}); using the lexical grader")
        return lambda items: [lexical.grade(item) for item in items]

    @staticmethod
    def _item(row: dict[str, str]) -> GradeInput:
        points = tuple(p.strip() for p in (row.get("key_points") or "").split("|") if p.strip())
        return GradeInput(
            question=row["question"], reference_answer=row["reference_answer"], answer=row["answer"], key_points=points
        )

    @staticmethod
    def _columns(grade: GradeOutput) -> dict[str, str]:
        text, _strengths, _improvements = feedback.compose(grade)
        return {
            "score": "" if grade.score is None else f"{grade.score:.1f}",
            "insufficient_evidence": "true" if grade.insufficient_evidence else "false",
            "covered_key_points": "|".join(m.point for m in grade.covered),
            "missed_key_points": "|".join(grade.missed),
            "feedback": text,
        }
