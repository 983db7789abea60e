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


# ---------------------------------------------------------------- --graded-examples

ANSWER = "Threads live inside a process and share its memory, while each process has memory of its own."
SIMILAR = (
    "Threads share the memory of their process; every process gets its own memory.",
    "A process owns a separate memory space, and the threads inside it share that memory.",
    "Each process has private memory; threads of one process all use the same memory.",
)
OTHER_QUESTION = "Why would you put a cache in front of a database?"
OTHER_REFERENCE = "A cache keeps frequently read data in memory so reads are fast and the database has less load."


def reviewed_csv(path: Path, score: str) -> Path:
    """Reviewed answers: SIMILAR to QUESTION (spelled differently) at `score`, and two of another question."""
    rows = [
        [f"r{i}", "  what is the difference between a PROCESS and a thread? ", REFERENCE, text, score, "ok"]
        for i, text in enumerate(SIMILAR)
    ]
    rows += [
        ["c1", OTHER_QUESTION, OTHER_REFERENCE, "It keeps hot data in memory, so reads are fast.", "9", ""],
        ["c2", OTHER_QUESTION, OTHER_REFERENCE, "A cache is a kind of hard disk.", "1", ""],
    ]
    return write_csv(path, ["id", "question", "reference_answer", "answer", "score", "note"], rows)


def test_graded_examples_change_the_grades_of_their_question(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "answers.csv",
        ["id", "question", "reference_answer", "answer"],
        [["1", QUESTION, REFERENCE, ANSWER], ["2", "What is a mutex?", "A lock.", "A lock that one thread holds."]],
    )
    plain_out = tmp_path / "plain.csv"
    call_command("grade_answers", "--input", str(source), "--output", str(plain_out))
    plain = read_csv(plain_out)
    assert "examples_used" not in plain[0]

    scores = {}
    for name, reviewer_score in (("high", "10"), ("low", "0")):
        target = tmp_path / f"{name}.csv"
        reviewed = reviewed_csv(tmp_path / f"reviewed-{name}.csv", reviewer_score)
        call_command(
            "grade_answers", "--input", str(source), "--output", str(target), "--graded-examples", str(reviewed)
        )
        rows = read_csv(target)
        assert [r["id"] for r in rows] == ["1", "2"]
        matched, unmatched = rows
        assert matched["examples_used"] == "3" and matched["examples_version"].startswith("ex-")
        assert unmatched["examples_used"] == "0" and unmatched["examples_version"] == ""
        assert matched["leniency_version"].startswith("len-")
        assert matched["leniency_version"] == unmatched["leniency_version"]
        assert float(matched["zero_shot_score"]) == pytest.approx(float(plain[0]["score"]), abs=0.11)
        scores[name] = float(matched["score"])
    assert scores["low"] < float(plain[0]["score"]) < scores["high"]


def test_graded_examples_are_checked(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "answers.csv", ["question", "reference_answer", "answer"], [[QUESTION, REFERENCE, "x"]]
    )
    out = str(tmp_path / "o.csv")
    no_score = write_csv(tmp_path / "r1.csv", ["question", "reference_answer", "answer"], [[QUESTION, REFERENCE, "a"]])
    with pytest.raises(CommandError, match="score"):
        call_command("grade_answers", "--input", str(source), "--output", out, "--graded-examples", str(no_score))
    for bad in ("eleven", "11", "-1", "nan"):
        reviewed = write_csv(
            tmp_path / "r2.csv", ["question", "reference_answer", "answer", "score"], [[QUESTION, REFERENCE, "a", bad]]
        )
        with pytest.raises(CommandError, match="line 2"):
            call_command("grade_answers", "--input", str(source), "--output", out, "--graded-examples", str(reviewed))
    with pytest.raises(CommandError, match="does not exist"):
        call_command(
            "grade_answers", "--input", str(source), "--output", out, "--graded-examples", str(tmp_path / "none.csv")
        )
    with pytest.raises(CommandError, match="semantic"):
        call_command(
            "grade_answers",
            "--input",
            str(source),
            "--output",
            out,
            "--grader",
            "lexical",
            "--graded-examples",
            str(reviewed_csv(tmp_path / "r3.csv", "5")),
        )
