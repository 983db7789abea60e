"""Admins' REST endpoints for staff users, their roles and job teams: what `manage.py staff` does,
over HTTP (the same services, interviews/staffing.py, audited alike). Admins only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import staffing
from ..access import role_of
from ..constants import Role
from . import bodies
from .http import StrictSerializer


class AdminRole(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        if role_of(request.user) != Role.ADMIN:
            raise exceptions.PermissionDenied("Only admins manage staff users and job teams.")
        return True


class AdminView(APIView):
    permission_classes = [AdminRole]


class UserCreateRequest(StrictSerializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    role = serializers.ChoiceField(choices=staffing.ROLES)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    # Kept as typed (no trim, like Django's own password forms), at least as long as the password
    # validators want (the others in AUTH_PASSWORD_VALIDATORS have no schema; this project sets none).
    password = serializers.CharField(
        required=False,
        write_only=True,
        trim_whitespace=False,
        min_length=staffing.min_password_length(),
        max_length=128,
        help_text="omit: log in once one is set, or use a token",
    )


class RoleRequest(StrictSerializer):
    role = serializers.ChoiceField(choices=staffing.ROLES)


class JobTeamRequest(StrictSerializer):
    owner = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=150)
    add = serializers.ListField(child=serializers.CharField(max_length=150), required=False, default=list)
    drop = serializers.ListField(child=serializers.CharField(max_length=150), required=False, default=list)
    notice = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=20_000, help_text="empty: the deployment's"
    )


def _user(user: Any) -> dict[str, Any]:
    return bodies.dump(bodies.StaffUserOut, staffing.user_payload(user))


def _job(job: Any) -> dict[str, Any]:
    return bodies.dump(bodies.JobTeamOut, staffing.job_payload(job))


class StaffUsersView(AdminView):
    @extend_schema(responses=bodies.StaffUserList, summary="Staff users and their roles")
    def get(self, request: Request) -> Response:
        return Response([_user(u) for u in staffing.staff_users()])

    @extend_schema(request=UserCreateRequest, responses={201: bodies.StaffUserOut}, summary="Add a staff user")
    def post(self, request: Request) -> Response:
        body = UserCreateRequest(data=request.data)
        body.is_valid(raise_exception=True)
        user = staffing.user_add(actor=request.user, **body.validated_data)
        return Response(_user(user), status=201)


class StaffUserView(AdminView):
    @extend_schema(request=RoleRequest, responses=bodies.StaffUserOut, summary="Change a staff user's role")
    def patch(self, request: Request, username: str) -> Response:
        body = RoleRequest(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(
            _user(staffing.user_set_role(username=username, role=body.validated_data["role"], actor=request.user))
        )

    @extend_schema(
        request=None,
        responses={200: bodies.StaffUserOut},
        summary="Take a user's role and staff status away (the row stays)",
    )
    def delete(self, request: Request, username: str) -> Response:
        return Response(_user(staffing.user_remove(username=username, actor=request.user)))


class JobTeamsView(AdminView):
    @extend_schema(responses=bodies.JobTeamList, summary="Jobs with their owner, team and notice version")
    def get(self, request: Request) -> Response:
        return Response([_job(j) for j in staffing.jobs()])


class JobTeamView(AdminView):
    @extend_schema(
        request=JobTeamRequest, responses=bodies.JobTeamOut, summary="Set a job's owner, team and its own notice"
    )
    def patch(self, request: Request, job_id: int) -> Response:
        body = JobTeamRequest(data=request.data)
        body.is_valid(raise_exception=True)
        changes = {k: v for k, v in body.validated_data.items() if k in request.data or k in ("add", "drop")}
        return Response(_job(staffing.job_team(job_id=job_id, actor=request.user, **changes)))
