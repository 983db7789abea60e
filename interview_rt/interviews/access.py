"""Who may do what to which sessions: staff roles (Django groups) and object-level visibility by job.

A superuser, or a member of the group `admin`, sees and does everything. A `recruiter` or
`reviewer` sees the sessions of the jobs they own or are on the team of, and does what their role
allows (`constants.ROLE_PERMISSIONS`). A session the user may not see is reported exactly like one
that does not exist, so a denial never tells whether another job's session exists.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from .constants import ROLE_PERMISSIONS, Permission, Role
from .errors import ErrorCode, InterviewError
from .models import AIInterviewSession, Job

# Strongest first: a user in several groups gets the strongest role.
_ORDER = (Role.ADMIN, Role.RECRUITER, Role.REVIEWER)


def role_of(user: Any) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    # Read each time (one small query): a long-lived staff socket must not keep a revoked role.
    names = set(user.groups.values_list("name", flat=True))
    return next((r for r in _ORDER if r.value in names), None)


def permissions_of(user: Any) -> frozenset[Permission]:
    role = role_of(user)
    return ROLE_PERMISSIONS[role] if role else frozenset()


def sees_every_job(user: Any) -> bool:
    return role_of(user) == Role.ADMIN


def _job_filter(user: Any, prefix: str = "") -> Q:
    return Q(**{f"{prefix}owner": user}) | Q(**{f"{prefix}team": user})


def visible_jobs(user: Any) -> QuerySet[Job]:
    if role_of(user) is None:
        return Job.objects.none()
    if sees_every_job(user):
        return Job.objects.all()
    return Job.objects.filter(_job_filter(user)).distinct()


def visible_job_ids(user: Any) -> set[int] | None:
    """The ids of the jobs the user sees, or None for every job."""
    if sees_every_job(user):
        return None
    return set(visible_jobs(user).values_list("pk", flat=True))


def visible_sessions(user: Any, qs: QuerySet[AIInterviewSession] | None = None) -> QuerySet[AIInterviewSession]:
    qs = AIInterviewSession.objects.all() if qs is None else qs
    if role_of(user) is None:
        return qs.none()
    if sees_every_job(user):
        return qs
    return qs.filter(invitation__job__in=visible_jobs(user))


def require(user: Any, permission: Permission) -> None:
    """Refuse (401/403 with a code) unless the user's role grants `permission` at all."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise InterviewError(ErrorCode.NOT_AUTHENTICATED, "Log in as staff first.")
    if permission not in permissions_of(user):
        raise InterviewError(ErrorCode.PERMISSION_DENIED, f"Your role does not allow {permission.value}.")


def session_for(user: Any, session_id: object, permission: Permission) -> AIInterviewSession:
    """The session, if the user's role grants `permission` and the user sees its job; a session
    the user does not see is `session_not_found`, as if it did not exist."""
    require(user, permission)
    try:
        pk = session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(str(session_id))
    except ValueError:
        raise InterviewError(ErrorCode.SESSION_NOT_FOUND, "No such interview session.") from None
    session = visible_sessions(user).select_related("invitation__job", "invitation__candidate").filter(pk=pk).first()
    if session is None:
        raise InterviewError(ErrorCode.SESSION_NOT_FOUND, "No such interview session.")
    return session


def job_for(user: Any, job_id: object, permission: Permission) -> Job:
    require(user, permission)
    try:
        pk = int(str(job_id))
    except ValueError:
        raise InterviewError(ErrorCode.NOT_FOUND, "No such job.") from None
    job = visible_jobs(user).filter(pk=pk).first()
    if job is None:
        raise InterviewError(ErrorCode.NOT_FOUND, "No such job.")
    return job


def job_visible(user: Any, job_id: int) -> bool:
    return sees_every_job(user) or visible_jobs(user).filter(pk=job_id).exists()
