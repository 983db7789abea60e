"""Staff users, their roles and job teams, without the Django admin.

    manage.py staff add USERNAME --role recruiter|reviewer|admin [--email E] [--password-env VAR]
    manage.py staff role USERNAME --role reviewer        # change a role (the other roles are removed)
    manage.py staff remove USERNAME                      # no role, not staff (the user row stays: audit)
    manage.py staff list
    manage.py staff job JOB_ID [--owner USERNAME] [--add USERNAME ...] [--drop USERNAME ...]
                              [--notice-file FILE | --notice-file -]   # the job's own notice
    manage.py staff jobs                                 # jobs with their owner and team

The work is `interview_rt/interviews/staffing.py` (admins have the same over REST: docs/rest.md), audited as
the command's change. Roles are the Django groups `admin`, `recruiter`, `reviewer` (interviews/access.py). A password is
read from the environment variable `--password-env` names (never from the command line, where
`ps` and shell history would keep it); without one the user can log in only after
`manage.py changepassword`, or use an API token (`manage.py drf_create_token USERNAME`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from interview_rt.interviews import staffing
from interview_rt.interviews.errors import InterviewError
from interview_rt.interviews.models import Job


class Command(BaseCommand):
    help = "Add staff users, set their roles, and give jobs an owner and a team."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        add = sub.add_parser("add", help="create a staff user with a role")
        add.add_argument("username")
        add.add_argument("--role", required=True, choices=staffing.ROLES)
        add.add_argument("--email", default="")
        add.add_argument("--password-env", help="name of the environment variable holding the password")
        role = sub.add_parser("role", help="change a staff user's role")
        role.add_argument("username")
        role.add_argument("--role", required=True, choices=staffing.ROLES)
        remove = sub.add_parser("remove", help="take a user's role and staff status away")
        remove.add_argument("username")
        sub.add_parser("list", help="staff users and their roles")
        job = sub.add_parser("job", help="set a job's owner, add or drop team members")
        job.add_argument("job_id", type=int)
        job.add_argument("--owner")
        job.add_argument("--add", nargs="*", default=[])
        job.add_argument("--drop", nargs="*", default=[])
        job.add_argument("--notice-file", help="this job's consent and AI notice (UTF-8 text); '-' clears it")
        sub.add_parser("jobs", help="jobs with their owner and team")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['what']}")(options)
        except InterviewError as exc:
            raise CommandError(exc.message) from None

    def _add(self, options: dict[str, Any]) -> None:
        password = None
        if options["password_env"]:
            password = os.environ.get(options["password_env"])
            if not password:
                raise CommandError(f"the environment variable {options['password_env']} is empty or unset")
        user = staffing.user_add(
            username=options["username"], role=options["role"], email=options["email"], password=password
        )
        self.stdout.write(f"{user.username}: {options['role']}" + ("" if password else " (no password set)"))

    def _role(self, options: dict[str, Any]) -> None:
        user = staffing.user_set_role(username=options["username"], role=options["role"])
        self.stdout.write(f"{user.username}: {options['role']}")

    def _remove(self, options: dict[str, Any]) -> None:
        user = staffing.user_remove(username=options["username"])
        self.stdout.write(f"{user.username}: no role")

    def _list(self, options: dict[str, Any]) -> None:
        for user in staffing.staff_users():
            self.stdout.write(f"{user.username}\t{staffing.user_payload(user)['role'] or '-'}")

    def _job(self, options: dict[str, Any]) -> None:
        changes: dict[str, Any] = {"add": options["add"], "drop": options["drop"]}
        if options["owner"]:
            changes["owner"] = options["owner"]
        if options["notice_file"]:
            path = options["notice_file"]
            changes["notice"] = "" if path == "-" else Path(path).read_text(encoding="utf-8")
        self._print_job(staffing.job_team(job_id=options["job_id"], **changes))

    def _jobs(self, options: dict[str, Any]) -> None:
        for job in staffing.jobs():
            self._print_job(job)

    def _print_job(self, job: Job) -> None:
        row = staffing.job_payload(job)
        team = ",".join(row["team"]) or "-"
        self.stdout.write(
            f"{row['id']}\t{row['title']}\towner={row['owner'] or '-'}\tteam={team}\tnotice={row['notice_version']}"
        )
