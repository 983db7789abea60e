"""Create an interview invitation and print its signed link.

The link is `FRONTEND_URL` + token. When FRONTEND_URL is not set, that is its default
(`http://127.0.0.1:8000/interview/`), which is right only for `make run` on this machine: the
command says so on stderr; pass `--base-url` (or set FRONTEND_URL) for a server elsewhere.
`--owner USERNAME` puts the invitation in a job that user owns (recruiters see their own jobs),
`--job ID` in an existing job.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from interview_rt.interviews import links, services
from interview_rt.interviews.constants import DIFFICULTIES, INTERVIEW_TYPES, FeedbackMode
from interview_rt.interviews.errors import InterviewError
from interview_rt.interviews.models import Job


class Command(BaseCommand):
    help = "Create an interview invitation and print its candidate link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--candidate-name", required=True)
        parser.add_argument("--candidate-email", required=True)
        parser.add_argument("--job-title", required=True)
        parser.add_argument("--job-description", default="")
        parser.add_argument("--skills", default="", help="comma-separated")
        parser.add_argument("--type", dest="interview_type", default="technical", choices=INTERVIEW_TYPES)
        parser.add_argument("--difficulty", default="medium", choices=DIFFICULTIES)
        parser.add_argument("--questions", type=int, default=5)
        parser.add_argument("--time-limit", type=int, default=300, help="seconds per question")
        parser.add_argument("--feedback", default="immediate", choices=[str(m) for m in FeedbackMode])
        parser.add_argument("--expires-days", type=float, default=None)
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--owner", help="username of the staff user who owns the job")
        parser.add_argument("--job", type=int, help="id of an existing job to invite to")
        parser.add_argument("--base-url", help="the candidate page URL the token goes after (default: FRONTEND_URL)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["expires_days"] is not None and options["expires_days"] <= 0:
            raise CommandError("--expires-days must be more than 0")
        owner = job = None
        if options["owner"]:
            owner = get_user_model().objects.filter(username=options["owner"]).first()
            if owner is None:
                raise CommandError(f"no user named {options['owner']!r}")
        if options["job"] is not None:
            job = Job.objects.filter(pk=options["job"]).first()
            if job is None:
                raise CommandError(f"no job with id {options['job']}")
        try:
            invitation = services.invitation_create(
                candidate_name=options["candidate_name"],
                candidate_email=options["candidate_email"],
                job_title=options["job_title"],
                job_description=options["job_description"],
                skills=[s.strip() for s in options["skills"].split(",") if s.strip()],
                interview_type=options["interview_type"],
                difficulty=options["difficulty"],
                question_count=options["questions"],
                time_limit_seconds=options["time_limit"],
                feedback_mode=options["feedback"],
                expires_in=timedelta(days=options["expires_days"]) if options["expires_days"] else None,
                owner=owner,
                job=job,
            )
        except InterviewError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        token = links.make_token(invitation)
        url = links.link_url(token, options["base_url"])
        if not options["base_url"] and "FRONTEND_URL" not in os.environ:
            self.stderr.write(
                f"note: the link uses FRONTEND_URL's default ({settings.FRONTEND_URL}); for a server "
                "elsewhere set FRONTEND_URL or pass --base-url"
            )
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "token": token,
                        "url": url,
                        "invitation_id": str(invitation.id),
                        "websocket_path": f"/ws/interview/{token}/",
                        "expires_at": invitation.expires_at.isoformat(),
                        "job_id": invitation.job_id,
                    }
                )
            )
        else:
            self.stdout.write(f"Interview link: {url}\nToken: {token}\nExpires: {invitation.expires_at.isoformat()}")
