"""The embedded default in one command: migrate, demo data, admin login, link, then daphne."""

from __future__ import annotations

import os
import secrets
import sys
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from interview_rt.interviews import links, services


class Command(BaseCommand):
    help = "Set up demo data, print a candidate link and an admin login, and serve with daphne."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-serve", action="store_true", help="set up and print, but do not serve")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        admin, _ = user_model.objects.get_or_create(username="admin", defaults={"email": "admin@example.com"})
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        invitation = services.invitation_create(
            candidate_name="Demo Candidate",
            candidate_email="candidate@example.com",
            job_title="Backend Engineer",
            job_description="Build and run Python/Django APIs backed by PostgreSQL and Redis.",
            skills=["python", "django", "postgresql", "redis", "rest"],
            interview_type="mixed",
            difficulty="medium",
            question_count=5,
        )
        token = links.make_token(invitation)
        base = f"http://{options['host']}:{options['port']}"
        if "FRONTEND_URL" not in os.environ:  # the demo serves the candidate page itself
            settings.FRONTEND_URL = f"{base}/interview/"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "interview-rt is ready (SQLite, in-memory channel layer, embedded AI).",
                    f"  Candidate link : {links.link_url(token)}",
                    f"  WebSocket      : ws://{options['host']}:{options['port']}/ws/interview/{token}/",
                    f"  Staff dashboard: {base}/staff/  user: admin  password: {password}",
                    f"  Django admin   : {base}/admin/",
                    f"  Results API    : {base}/api/ai-interview/sessions/",
                    "",
                ]
            )
        )
        sys.stdout.flush()
        if options["no_serve"]:
            return
        os.execvp(
            sys.executable,
            # daphne with a listen backlog and graceful shutdown (interview_rt/server.py); the
            # runtime starts the AI process (grading on the second core) beside it.
            [sys.executable, "-m", "interview_rt.server", "-b", options["host"], "-p", str(options["port"])],
        )
