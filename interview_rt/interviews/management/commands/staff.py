"""Staff users, their roles and job teams, without the Django admin.

    manage.py staff add USERNAME --role recruiter|reviewer|admin [--email E] [--password-env VAR]
    manage.py staff role USERNAME --role reviewer        # change a role (the other roles are removed)
    manage.py staff remove USERNAME                      # no role, not staff (the user row stays: audit)
    manage.py staff list
    manage.py staff job JOB_ID [--owner USERNAME] [--add USERNAME ...] [--drop USERNAME ...]
                              [--notice-file FILE | --notice-file -]   # the job's own notice
    manage.py staff jobs                                 # jobs with their owner and team

Roles are the Django groups `admin`, `recruiter`, `reviewer` (interviews/access.py). A password is
read from the environment variable `--password-env` names (never from the command line, where
`ps` and shell history would keep it); without one the user can log in only after
`manage.py changepassword`, or use an API token (`manage.py drf_create_token USERNAME`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from interview_rt.interviews import notices
from interview_rt.interviews.access import role_of
from interview_rt.interviews.constants import Role
from interview_rt.interviews.models import Job

ROLES = [str(r) for r in Role]


class Command(BaseCommand):
    help = "Add staff users, set their roles, and give jobs an owner and a team."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        add = sub.add_parser("add", help="create a staff user with a role")
        add.add_argument("username")
        add.add_argument("--role", required=True, choices=ROLES)
        add.add_argument("--email", default="")
        add.add_argument("--password-env", help="name of the environment variable holding the password")
        role = sub.add_parser("role", help="change a staff user's role")
        role.add_argument("username")
        role.add_argument("--role", required=True, choices=ROLES)
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
        getattr(self, f"_{options['what']}")(options)

    def _user(self, username: str) -> Any:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        return user

    @staticmethod
    def _set_role(user: Any, role: str) -> None:
        user.groups.remove(*Group.objects.filter(name__in=ROLES))
        user.groups.add(Group.objects.get_or_create(name=role)[0])

    @transaction.atomic
    def _add(self, options: dict[str, Any]) -> None:
        model = get_user_model()
        if model.objects.filter(username=options["username"]).exists():
            raise CommandError(f"user {options['username']!r} exists; use `staff role` to change its role")
        password = None
        if options["password_env"]:
            password = os.environ.get(options["password_env"])
            if not password:
                raise CommandError(f"the environment variable {options['password_env']} is empty or unset")
        user = model.objects.create_user(options["username"], email=options["email"], password=password, is_staff=True)
        self._set_role(user, options["role"])
        self.stdout.write(f"{user.username}: {options['role']}" + ("" if password else " (no password set)"))

    @transaction.atomic
    def _role(self, options: dict[str, Any]) -> None:
        user = self._user(options["username"])
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        self._set_role(user, options["role"])
        self.stdout.write(f"{user.username}: {options['role']}")

    @transaction.atomic
    def _remove(self, options: dict[str, Any]) -> None:
        user = self._user(options["username"])
        if user.is_superuser:
            raise CommandError(f"{user.username} is a superuser; change that in the Django admin")
        user.groups.remove(*Group.objects.filter(name__in=ROLES))
        user.is_staff = False
        user.save(update_fields=["is_staff"])
        self.stdout.write(f"{user.username}: no role")

    def _list(self, options: dict[str, Any]) -> None:
        for user in get_user_model().objects.filter(is_staff=True).order_by("username"):
            self.stdout.write(f"{user.username}\t{role_of(user) or '-'}")

    @transaction.atomic
    def _job(self, options: dict[str, Any]) -> None:
        job = Job.objects.filter(pk=options["job_id"]).first()
        if job is None:
            raise CommandError(f"no job with id {options['job_id']}")
        if options["owner"]:
            job.owner = self._user(options["owner"])
            job.save(update_fields=["owner"])
        if options["notice_file"]:
            text = "" if options["notice_file"] == "-" else Path(options["notice_file"]).read_text(encoding="utf-8")
            job.consent_notice = text.strip()
            job.save(update_fields=["consent_notice"])
        job.team.add(*[self._user(name) for name in options["add"]])
        job.team.remove(*[self._user(name) for name in options["drop"]])
        self._print_job(job)

    def _jobs(self, options: dict[str, Any]) -> None:
        for job in Job.objects.select_related("owner").prefetch_related("team").order_by("pk"):
            self._print_job(job)

    def _print_job(self, job: Job) -> None:
        team = ",".join(sorted(u.username for u in job.team.all())) or "-"
        owner = job.owner.username if job.owner else "-"
        notice = notices.notice_for(job).version
        self.stdout.write(f"{job.pk}\t{job.title}\towner={owner}\tteam={team}\tnotice={notice}")
