"""Create an interview invitation and print its signed link."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from interview_rt.interviews import links, services
from interview_rt.interviews.constants import DIFFICULTIES, INTERVIEW_TYPES, FeedbackMode
from interview_rt.interviews.errors import InterviewError


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

    def handle(self, *args: Any, **options: Any) -> None:
        if options["expires_days"] is not None and options["expires_days"] <= 0:
            raise CommandError("--expires-days must be more than 0")
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
            )
        except InterviewError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        token = links.make_token(invitation)
        url = links.link_url(token)
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "token": token,
                        "url": url,
                        "invitation_id": str(invitation.id),
                        "websocket_path": f"/ws/interview/{token}/",
                        "expires_at": invitation.expires_at.isoformat(),
                    }
                )
            )
        else:
            self.stdout.write(f"Interview link: {url}\nToken: {token}\nExpires: {invitation.expires_at.isoformat()}")
