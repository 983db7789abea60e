"""Create N interview invitations in one process and print their tokens (helper of bench/load.py).

    DJANGO_SETTINGS_MODULE=... DATABASE_URL=sqlite:///... \
        python bench/_setup_invitations.py --count 200 --questions 3 --out tokens.json

Calls `services.invitation_create` + `links.make_token` directly (one transaction), which is
far faster than one `manage.py create_interview` per invitation.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--feedback-mode", choices=("immediate", "end"), default="immediate")
    parser.add_argument("--type", default="mixed", choices=("technical", "behavioral", "mixed"))
    parser.add_argument("--difficulty", default="medium", choices=("easy", "medium", "hard"))
    parser.add_argument("--time-limit", type=int, default=600, help="seconds per question")
    parser.add_argument("--out", required=True, help="JSON file to write the tokens to")
    parser.add_argument("--admins", type=int, default=0, help="also create this many admin users with API tokens")
    parser.add_argument("--staff-out", help="JSON file to write the admins' API tokens to")
    args = parser.parse_args()
    if not 1 <= args.count <= 10_000:
        parser.error("--count must be 1..10000")

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import transaction

    from interview_rt.interviews import links, services

    started = time.perf_counter()
    links_out: list[dict[str, str]] = []
    with transaction.atomic():
        for i in range(args.count):
            invitation = services.invitation_create(
                candidate_name=f"Bench Candidate {i:05d}",
                candidate_email=f"bench{i:05d}@example.com",
                job_title="Backend Engineer",
                job_description="Builds and runs Python web services.",
                skills=("python", "django", "sql"),
                interview_type=args.type,
                difficulty=args.difficulty,
                question_count=args.questions,
                time_limit_seconds=args.time_limit,
                feedback_mode=args.feedback_mode,
            )
            links_out.append({"invitation": str(invitation.id), "token": links.make_token(invitation)})
        if args.admins:
            from django.contrib.auth import get_user_model
            from django.contrib.auth.models import Group
            from rest_framework.authtoken.models import Token

            group = Group.objects.get(name="admin")
            staff = []
            for i in range(args.admins):
                user = get_user_model().objects.create_user(f"bench-admin-{i}", password=None)
                user.groups.add(group)
                staff.append(Token.objects.create(user=user).key)
            Path(args.staff_out).write_text(json.dumps(staff))
    Path(args.out).write_text(json.dumps(links_out))
    print(json.dumps({"created": len(links_out), "seconds": round(time.perf_counter() - started, 3)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
