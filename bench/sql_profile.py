"""Statements and database-thread CPU of each service call on an interview's path, in one process.

    .venv/bin/python bench/sql_profile.py [--sessions 30] [--questions 3] [--no-claim] [--show]

Runs the calls a socket and the in-process worker make, in the order they make them, on a fresh
SQLite file (no server, no sockets, no model: answers are graded once per distinct text and the
stored grade reused), and prints per call the statements it ran and its CPU time on the calling
thread (time.thread_time: what the one SQLite thread of the server spends). `--no-claim` runs the
path of a process without an in-process worker (the worker claims each job itself); `--show`
prints the SQL of the last session's calls. The figures are per call, averaged over the sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=30)
    p.add_argument("--questions", type=int, default=3)
    p.add_argument("--no-claim", action="store_true", help="no in-process worker: each job is claimed by the worker")
    p.add_argument("--show", action="store_true", help="print the SQL of the last session")
    args = p.parse_args()

    tmp = tempfile.mkdtemp(prefix="sql-profile-")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interview_rt.settings.local")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/db.sqlite3"
    os.environ.update(DEBUG="0", AI_WARM_UP="0", LOG_LEVEL="WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ai_service.types import EvaluationRequest
    from interview_rt.aiproc.parent import keyword_questions
    from interview_rt.interviews import links, services
    from interview_rt.interviews.models import AIInterviewQuestion
    from interview_rt.runtime import ai

    call_command("migrate", verbosity=0)
    owner = "" if args.no_claim else "sql-profile-worker"
    stats: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0, 0])

    def run(name: str, fn: Any, show: bool, **kwargs: Any) -> Any:
        with CaptureQueriesContext(connection) as queries:
            began = time.thread_time()
            result = fn(**kwargs)
            cpu = time.thread_time() - began
        entry = stats[name]
        entry[0] += len(queries.captured_queries)
        entry[1] += cpu
        entry[2] += 1
        if show and args.show:
            print(f"-- {name}")
            for q in queries.captured_queries:
                print("  ", q["sql"][:200])
        return result

    grades: dict[tuple[str, str], Any] = {}
    provider = ai.provider()
    answer = "Django maps models to tables with its ORM and changes the schema with migrations."
    for i in range(args.sessions):
        invitation = services.invitation_create(
            candidate_name="Candidate",
            candidate_email=f"c{i}@example.com",
            job_title="Backend Engineer",
            job_description="Python and Django APIs",
            skills=["python", "django"],
            interview_type="technical",
            difficulty="medium",
            question_count=args.questions,
            consent_required=False,
        )
        last = i == args.sessions - 1
        conn = run(
            "connect",
            services.session_connect,
            last,
            token=links.make_token(invitation),
            last_seq=None,
            claim_for=owner,
        )
        claimed = [j.claimed for j in conn.emitted.jobs if j.claimed is not None]
        job = (
            claimed[0]
            if claimed
            else run("generation_claim", services.generation_claim, last, session_id=conn.session_id)
        )
        questions = keyword_questions(job.context)
        run(
            "questions_store",
            services.questions_store,
            last,
            session_id=conn.session_id,
            questions=questions,
            provenance={},
        )
        for k in range(args.questions):
            question = AIInterviewQuestion.objects.get(session_id=conn.session_id, order=k)
            receipt = run(
                "answer_submit",
                services.answer_submit,
                last,
                session_id=conn.session_id,
                client_id=f"a{k}",
                question_id=str(question.id),
                text=answer,
                claim_for=owner,
            )
            claimed = [j.claimed for j in receipt.emitted.jobs if j.claimed is not None]
            ev_job = (
                claimed[0]
                if claimed
                else run("evaluation_claim", services.evaluation_claim, last, response_id=str(receipt.response_id))
            )
            key = (ev_job.question, ev_job.answer)
            if key not in grades:
                request = EvaluationRequest(
                    question=ev_job.question,
                    response=ev_job.answer,
                    question_type="technical",
                    difficulty="medium",
                    reference_answer=ev_job.reference_answer,
                    key_points=ev_job.key_points,
                    competency=ev_job.competency,
                )
                grades[key] = asyncio.run(provider.evaluate(request))
            run(
                "evaluation_store",
                services.evaluation_store,
                last,
                response_id=str(receipt.response_id),
                evaluation=grades[key],
                calibration=ev_job.calibration,
            )
    print(f"{'call':18s} {'statements':>10s} {'CPU ms':>8s}")
    per_answer = [0.0, 0.0]
    for name, (n, cpu, count) in stats.items():
        print(f"{name:18s} {n / count:10.1f} {1000 * cpu / count:8.2f}")
        if name in ("answer_submit", "evaluation_claim", "evaluation_store"):
            per_answer[0] += n / count
            per_answer[1] += 1000 * cpu / count
    print(f"{'per graded answer':18s} {per_answer[0]:10.1f} {per_answer[1]:8.2f}")


if __name__ == "__main__":
    main()
