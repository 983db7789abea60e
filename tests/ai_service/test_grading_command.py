"""`manage.py grade_answers`: a CSV in, the same rows with grades out."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

QUESTION = "What is the difference between a process and a thread?"
REFERENCE = (
    "A process has its own isolated memory space, while threads run inside a process and share its memory. "
    "Threads are cheaper to create, but shared memory means they need locks to avoid race conditions."
)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_grades_a_csv(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "answers.csv",
        ["id", "question", "reference_answer", "answer", "key_points"],
        [
            [
                "1",
                QUESTION,
                REFERENCE,
                "Each process has a separate address space; threads share their process's memory, so shared data "
                "needs locks.",
                "process has its own memory|threads share memory|threads need locks",
            ],
            ["2", QUESTION, REFERENCE, "", ""],
            ["3", QUESTION, REFERENCE, "A thread is a cable between two computers.", ""],
        ],
    )
    target = tmp_path / "out" / "scored.csv"
    call_command("grade_answers", "--input", str(source), "--output", str(target))
    rows = read_csv(target)
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert list(rows[0])[:5] == ["id", "question", "reference_answer", "answer", "key_points"]
    for column in ("score", "insufficient_evidence", "covered_key_points", "missed_key_points", "feedback"):
        assert column in rows[0]
    good, empty, wrong = rows
    assert 0 <= float(good["score"]) <= 10
    assert good["insufficient_evidence"] == "false"
    covered = [p for p in good["covered_key_points"].split("|") if p]
    missed = [p for p in good["missed_key_points"].split("|") if p]
    assert covered
    assert set(covered) | set(missed) == {"process has its own memory", "threads share memory", "threads need locks"}
    assert empty["score"] == "" and empty["insufficient_evidence"] == "true"
    assert empty["feedback"]
    assert float(wrong["score"]) < float(good["score"])


def test_missing_file_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="does not exist"):
        call_command("grade_answers", "--input", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "o.csv"))


def test_missing_columns_are_a_command_error(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "bad.csv", ["question", "answer"], [[QUESTION, "something"]])
    with pytest.raises(CommandError, match="reference_answer"):
        call_command("grade_answers", "--input", str(source), "--output", str(tmp_path / "o.csv"))


def test_empty_and_binary_files_are_command_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CommandError, match="empty"):
        call_command("grade_answers", "--input", str(empty), "--output", str(tmp_path / "o.csv"))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81\x82garbage")
    with pytest.raises(CommandError):
        call_command("grade_answers", "--input", str(binary), "--output", str(tmp_path / "o.csv"))
