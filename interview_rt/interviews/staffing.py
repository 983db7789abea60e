"""Staff accounts and job teams: who may do what, without the Django admin. `manage.py staff` and
the admins' REST endpoints (api/staffing.py) both call these, and each change is audited.

Roles are the Django groups `admin`, `recruiter`, `reviewer` (access.py); a user holds one. A user
who loses their role keeps their row (the audit log and reviews name it) but is no longer staff.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from . import audit, notices
from .access import role_of
from .constants import AuditAction, Role
from .errors import ErrorCode, InterviewError
from .models import Job

ROLES = tuple(str(r) for r in Role)


def min_password_length() -> int | None:
    """The shortest password AUTH_PASSWORD_VALIDATORS allow (None: no length rule)."""
    lengths = [
        v.min_length
        for v in password_validation.get_default_password_validators()
        if isinstance(v, password_validation.MinimumLengthValidator)
    ]
    return max(lengths, default=None)


_UNSET: Any = object()


def _user(username: str) -> Any:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise InterviewError(ErrorCode.NOT_FOUND, f"No user named {username!r}.", field="username")
    return user


def _role(role: str) -> str:
    if role not in ROLES:
        raise InterviewError(ErrorCode.INVALID_FIELD, f"role must be one of {', '.join(ROLES)}", field="role")
    return role


def _set_role(user: Any, role: str) -> None:
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    user.groups.add(Group.objects.get_or_create(name=role)[0])


def user_payload(user: Any) -> dict[str, Any]:
    role = role_of(user)
    return {
        "username": user.get_username(),
        "email": user.email,
        "role": str(role) if role else None,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "has_password": user.has_usable_password(),
    }


def user_add(*, username: str, role: str, email: str = "", password: str | None = None, actor: Any = None) -> Any:
    """A staff user with a role. Without a password the user logs in only once one is set (or
    uses an API token)."""
    _role(role)
    if password is not None:
        try:
            password_validation.validate_password(password, get_user_model()(username=username, email=email))
        except ValidationError as exc:
            raise InterviewError(ErrorCode.INVALID_FIELD, " ".join(exc.messages), field="password") from None
    model = get_user_model()
    try:
        with transaction.atomic():
            user = model.objects.create_user(username, email=email, password=password, is_staff=True)
            _set_role(user, role)
            audit.record(
                actor=actor,
                action=AuditAction.STAFF_CHANGED,
                target_type="user",
                target_id=username,
                details={"change": "added", "role": role},
            )
    except IntegrityError:
        raise InterviewError(ErrorCode.ALREADY_EXISTS, f"A user named {username!r} exists.", field="username") from None
    return user


@transaction.atomic
def user_set_role(*, username: str, role: str, actor: Any = None) -> Any:
    _role(role)
    user = _user(username)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    _set_role(user, role)
    audit.record(
        actor=actor,
        action=AuditAction.STAFF_CHANGED,
        target_type="user",
        target_id=username,
        details={"change": "role", "role": role},
    )
    return user


@transaction.atomic
def user_remove(*, username: str, actor: Any = None) -> Any:
    """No role and not staff any more; the row stays (audit and reviews name it)."""
    user = _user(username)
    if user.is_superuser:
        raise InterviewError(
            ErrorCode.PERMISSION_DENIED,
            f"{username} is a superuser; change that in the Django admin.",
            field="username",
        )
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    user.is_staff = False
    user.save(update_fields=["is_staff"])
    audit.record(
        actor=actor,
        action=AuditAction.STAFF_CHANGED,
        target_type="user",
        target_id=username,
        details={"change": "removed"},
    )
    return user


def staff_users() -> list[Any]:
    return list(get_user_model().objects.filter(is_staff=True).order_by("username"))


def job_payload(job: Job) -> dict[str, Any]:
    return {
        "id": job.pk,
        "title": job.title,
        "owner": job.owner.get_username() if job.owner else None,
        "team": sorted(u.get_username() for u in job.team.all()),
        "notice_version": notices.notice_for(job).version,
    }


def jobs() -> list[Job]:
    return list(Job.objects.select_related("owner").prefetch_related("team").order_by("pk"))


@transaction.atomic
def job_team(
    *,
    job_id: int,
    owner: str | None = _UNSET,
    add: Sequence[str] = (),
    drop: Sequence[str] = (),
    notice: str | None = _UNSET,
    actor: Any = None,
) -> Job:
    """Set a job's owner (None: no owner), add or drop team members, set its own notice text
    ("" or None: the deployment's)."""
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        raise InterviewError(ErrorCode.NOT_FOUND, "No such job.", field="job_id")
    changed: dict[str, Any] = {}
    if owner is not _UNSET:
        job.owner = _user(owner) if owner else None
        changed["owner"] = owner or None
    if notice is not _UNSET:
        job.consent_notice = (notice or "").strip()
        changed["notice"] = notices.notice_for(job).version
    job.save(update_fields=["owner", "consent_notice"])
    job.team.add(*[_user(name) for name in add])
    job.team.remove(*[_user(name) for name in drop])
    if add:
        changed["added"] = sorted(add)
    if drop:
        changed["dropped"] = sorted(drop)
    audit.record(
        actor=actor, action=AuditAction.JOB_TEAM_CHANGED, target_type="job", target_id=str(job.pk), details=changed
    )
    return job
