"""Grade a CSV of answers offline with the embedded semantic grader.

    python manage.py grade_answers --input answers.csv --output scored.csv [--graded-examples reviewed.csv]

Input columns: question, reference_answer, answer and optionally key_points (separated by `|`).
The output has the same rows and columns plus score (0-10, blank when the evidence is
insufficient), insufficient_evidence, covered_key_points, missed_key_points (`|`-joined) and
feedback.

--graded-examples: a CSV of reviewed answers with question, reference_answer, answer, score
(0-10) and optionally id and note. Each input row is graded with the reviewed answers of its
question (matched by question text, ignoring case and spacing) as graded examples, and with the
team's leniency fitted on all reviewed answers (their zero-shot grade against the reviewer's
score); see docs/grading.md. The output then also has zero_shot_score, examples_used,
leniency_version and examples_version.
"""

from __future__ import annotations

import csv
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ai_service import feedback
from ai_service.grading import fewshot, lexical, semantic
from ai_service.grading.leniency import fit_leniency
from ai_service.grading.types import GradeInput, GradeOutput
from ai_service.types import GradedExample, Leniency

REQUIRED = ("question", "reference_answer", "answer")
REVIEWED_REQUIRED = ("question", "reference_answer", "answer", "score")
ADDED = ("score", "insufficient_evidence", "covered_key_points", "missed_key_points", "feedback")
ADDED_WITH_EXAMPLES = ("zero_shot_score", "examples_used", "leniency_version", "examples_version")


def question_key(text: str) -> str:
    """How reviewed answers are matched to input rows: the question text, case and spacing ignored."""
    return " ".join(text.split()).casefold()


class Command(BaseCommand):
    help = "Grade answers in a CSV (question, reference_answer, answer[, key_points]) and write a scored CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", required=True, help="CSV with question, reference_answer, answer[, key_points]")
        parser.add_argument("--output", required=True, help="where to write the scored CSV")
        parser.add_argument(
            "--graded-examples",
            default=None,
            help="CSV of reviewed answers (question, reference_answer, answer, score 0-10[, id, note]): "
            "graded examples per question and the team's leniency",
        )
        parser.add_argument("--batch-size", type=int, default=64)
        parser.add_argument(
            "--grader", choices=["semantic", "lexical"], default="semantic", help="lexical needs no model (fallback)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["input"])
        rows, fieldnames = self._read(source, REQUIRED)
        reviewed_path = Path(options["graded_examples"]) if options.get("graded_examples") else None
        reviewed = self._read(reviewed_path, REVIEWED_REQUIRED)[0] if reviewed_path else None
        grade_many = self._grader(options["grader"])
        if reviewed is not None and grade_many is not fewshot.grade_many:
            raise CommandError("--graded-examples needs the semantic grader")
        batch_size = max(1, int(options["batch_size"]))
        examples: dict[str, tuple[GradedExample, ...]] = {}
        leniency: Leniency | None = None
        if reviewed is not None and reviewed_path is not None:
            examples, leniency = self._learn(reviewed_path, reviewed, batch_size)
        items = [self._item(row, examples, leniency) for row in rows]
        outputs: list[GradeOutput] = []
        with tqdm(total=len(rows), desc="grading", unit="answer", file=sys.stderr) as bar:
            for start in range(0, len(items), batch_size):
                chunk = items[start : start + batch_size]
                outputs.extend(grade_many(chunk))
                bar.update(len(chunk))
        added = [*ADDED, *(ADDED_WITH_EXAMPLES if reviewed is not None else ())]
        target = Path(options["output"])
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=[*fieldnames, *[c for c in added if c not in fieldnames]])
                writer.writeheader()
                for row, grade in zip(rows, outputs, strict=True):
                    writer.writerow({**row, **self._columns(grade, with_examples=reviewed is not None)})
        except OSError as exc:
            raise CommandError(f"cannot write {target}: {exc.strerror or exc}") from exc
        insufficient = sum(1 for g in outputs if g.insufficient_evidence)
        self.stdout.write(f"graded {len(rows)} answers ({insufficient} with insufficient evidence) -> {target}")
        if reviewed is not None:
            matched = sum(1 for item in items if item.examples)
            self.stdout.write(
                f"{matched} of {len(rows)} answers had reviewed answers of their question; leniency "
                f"{leniency.version if leniency else '-'}"
            )

    def _learn(
        self, path: Path, reviewed: list[dict[str, str]], batch_size: int
    ) -> tuple[dict[str, tuple[GradedExample, ...]], Leniency]:
        """Graded examples per question, and the leniency fitted on every reviewed answer."""
        scores: list[float] = []
        for line_no, row in enumerate(reviewed, start=2):
            try:
                score = float(row["score"])
            except ValueError:
                raise CommandError(f"{path} line {line_no}: score {row['score']!r} is not a number") from None
            if not (math.isfinite(score) and 0.0 <= score <= 10.0):
                raise CommandError(f"{path} line {line_no}: score {row['score']!r} is not between 0 and 10")
            scores.append(score)
        zero_shots: list[float | None] = []
        items = [self._item(row, {}, None) for row in reviewed]
        with tqdm(total=len(items), desc="reviewed answers", unit="answer", file=sys.stderr) as bar:
            for start in range(0, len(items), batch_size):
                chunk = items[start : start + batch_size]
                zero_shots.extend(fewshot.zero_shot_many(chunk))
                bar.update(len(chunk))
        leniency = fit_leniency(zip(zero_shots, scores, strict=True))
        grouped: dict[str, list[GradedExample]] = {}
        for line_no, (row, score) in enumerate(zip(reviewed, scores, strict=True), start=2):
            example = GradedExample(
                answer=row["answer"], score=score, note=row.get("note", ""), id=row.get("id") or f"line-{line_no}"
            )
            grouped.setdefault(question_key(row["question"]), []).append(example)
        self.stdout.write(
            f"{len(reviewed)} reviewed answers of {len(grouped)} questions; leniency {leniency.version} "
            f"fitted on {leniency.pairs} of them"
        )
        return {q: tuple(v) for q, v in grouped.items()}, leniency

    def _read(self, source: Path, required: Sequence[str]) -> tuple[list[dict[str, str]], list[str]]:
        if not source.is_file():
            raise CommandError(f"input file {source} does not exist or is not a file")
        try:
            with source.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                fieldnames = [f.strip() for f in (reader.fieldnames or [])]
                reader.fieldnames = fieldnames
                if not fieldnames:
                    raise CommandError(f"{source} is empty; expected a header with columns {', '.join(required)}")
                missing = [c for c in required if c not in fieldnames]
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

    def _grader(self, name: str) -> Callable[[Sequence[GradeInput]], list[GradeOutput]]:
        if name == "semantic":
            try:
                semantic.warm_up()
                return fewshot.grade_many
            except Exception as exc:
                self.stderr.write(f"semantic grader unavailable ({exc}); using the lexical grader")
        return lambda items: [lexical.grade(item) for item in items]

    @staticmethod
    def _item(
        row: dict[str, str], examples: dict[str, tuple[GradedExample, ...]], leniency: Leniency | None
    ) -> GradeInput:
        points = tuple(p.strip() for p in (row.get("key_points") or "").split("|") if p.strip())
        return GradeInput(
            question=row["question"],
            reference_answer=row["reference_answer"],
            answer=row["answer"],
            key_points=points,
            examples=examples.get(question_key(row["question"]), ()),
            leniency=leniency,
        )

    @staticmethod
    def _columns(grade: GradeOutput, with_examples: bool) -> dict[str, str]:
        text, _strengths, _improvements = feedback.compose(grade)
        columns = {
            "score": "" if grade.score is None else f"{grade.score:.1f}",
            "insufficient_evidence": "true" if grade.insufficient_evidence else "false",
            "covered_key_points": "|".join(m.point for m in grade.covered),
            "missed_key_points": "|".join(grade.missed),
            "feedback": text,
        }
        if with_examples:
            info = grade.calibration
            zero = info.get("zero_shot_score")
            columns.update(
                {
                    "zero_shot_score": f"{zero:.1f}" if isinstance(zero, float) else "",
                    "examples_used": str(info.get("examples_used", 0)),
                    "leniency_version": str(info.get("leniency_version", "")),
                    "examples_version": str(info.get("examples_version", "")),
                }
            )
        return columns
