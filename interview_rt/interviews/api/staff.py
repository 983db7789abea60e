"""Staff endpoints (DRF): invitations, sessions, live actions (a session's result with its human
reviews is the review app's, `review/api/sessions.py`). Session, basic or token authentication;
each view names the permission it needs (`constants.ROLE_PERMISSIONS`) and sees only the jobs the
user may see."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from interview_rt.runtime import publish, runtime

from .. import access, links, payloads, schemas, services
from ..constants import (
    DEFAULT_QUESTION_COUNT,
    DEFAULT_TIME_LIMIT_SECONDS,
    DIFFICULTIES,
    INTERVIEW_TYPES,
    MAX_PLANNED_QUESTIONS,
    MAX_TIME_LIMIT_SECONDS,
    MIN_TIME_LIMIT_SECONDS,
    FeedbackMode,
    Permission,
    Status,
)
from ..errors import ErrorCode, InterviewError
from ..models import AdminAction, AIInterviewSession
from .http import StrictSerializer
from .openapi import uuid_path


class StaffRole(permissions.BasePermission):
    """Authenticated (else 401 `not_authenticated`) with a staff role that grants the view's
    `required` permission (else 403 `permission_denied`)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        required: Permission = getattr(view, "required", Permission.VIEW)
        if required not in access.permissions_of(request.user):
            raise exceptions.PermissionDenied(f"Your role does not allow {required.value}.")
        return True


class StaffView(APIView):
    permission_classes = [StaffRole]
    required = Permission.VIEW


class SessionSummarySerializer(serializers.ModelSerializer):
    candidate = serializers.CharField(source="invitation.candidate.name")
    job = serializers.CharField(source="invitation.job.title")

    class Meta:
        model = AIInterviewSession
        fields = [
            "id",
            "status",
            "candidate",
            "job",
            "question_count",
            "answered_count",
            "evaluated_count",
            "created_at",
            "started_at",
            "completed_at",
        ]


class InvitationSerializer(StrictSerializer):
    candidate_name = serializers.CharField(max_length=200)
    candidate_email = serializers.EmailField()
    job_title = serializers.CharField(max_length=200)
    job_description = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    skills = serializers.ListField(child=serializers.CharField(max_length=100), required=False, default=list)
    interview_type = serializers.ChoiceField(choices=INTERVIEW_TYPES, default="technical")
    difficulty = serializers.ChoiceField(choices=DIFFICULTIES, default="medium")
    question_count = serializers.IntegerField(
        min_value=1, max_value=MAX_PLANNED_QUESTIONS, default=DEFAULT_QUESTION_COUNT
    )
    time_limit_seconds = serializers.IntegerField(
        min_value=MIN_TIME_LIMIT_SECONDS, max_value=MAX_TIME_LIMIT_SECONDS, default=DEFAULT_TIME_LIMIT_SECONDS
    )
    feedback_mode = serializers.ChoiceField(choices=[str(m) for m in FeedbackMode], default=FeedbackMode.IMMEDIATE)
    expires_in_days = serializers.FloatField(min_value=0.001, max_value=365, required=False)
    job_id = serializers.IntegerField(required=False, help_text="an existing job you may invite to")
    consent_required = serializers.BooleanField(required=False, help_text="default: INTERVIEW_REQUIRE_CONSENT")


class InvitationCreateView(StaffView):
    """POST /api/ai-interview/invitations/: what `manage.py create_interview` does, over HTTP.
    The job it creates (or reuses) belongs to the inviting user."""

    required = Permission.INVITE

    @extend_schema(request=InvitationSerializer, responses={201: dict})
    def post(self, request: Request) -> Response:
        body = InvitationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        days = data.pop("expires_in_days", None)
        job_id = data.pop("job_id", None)
        job = access.job_for(request.user, job_id, Permission.INVITE) if job_id is not None else None
        invitation = services.invitation_create(
            **data, expires_in=timedelta(days=days) if days else None, owner=request.user, job=job
        )
        token = links.make_token(invitation)
        return Response(
            {
                "invitation_id": str(invitation.id),
                "token": token,
                "url": links.link_url(token),
                "websocket_path": f"/ws/interview/{token}/",
                "expires_at": invitation.expires_at.isoformat(),
            },
            status=201,
        )


class InvitationRevokeView(APIView):
    """POST /api/ai-interview/invitations/<id>/revoke/: the link stops working at once; the
    session's open sockets are closed with 4403."""

    @extend_schema(parameters=[uuid_path("invitation_id")], request=None, responses=dict)
    def post(self, request: Request, invitation_id: str) -> Response:
        runtime.publish(services.invitation_revoke(invitation_id=invitation_id))
        return Response({"invitation_id": invitation_id, "revoked": True})


class SessionListView(StaffView):
    @extend_schema(responses=SessionSummarySerializer(many=True))
    def get(self, request: Request) -> Response:
        qs = access.visible_sessions(
            request.user, AIInterviewSession.objects.select_related("invitation__candidate", "invitation__job")
        ).order_by("-created_at")
        status = request.query_params.get("status")
        if status:
            # Only known statuses reach the database (a NUL in a filter is an error on PostgreSQL).
            if status not in tuple(Status):
                raise InterviewError(
                    ErrorCode.INVALID_FIELD, f"status must be one of {', '.join(Status)}.", field="status"
                )
            qs = qs.filter(status=status)
        return Response(SessionSummarySerializer(qs[:200], many=True).data)


class SessionActionsView(StaffView):
    """GET: the session's audit trail of live actions. POST: take one (as on the staff socket)."""

    def get_permissions(self) -> Any:
        self.required = Permission.ACT if self.request.method == "POST" else Permission.VIEW
        return super().get_permissions()

    @extend_schema(parameters=[uuid_path("session_id")], responses=schemas.ActionList)
    def get(self, request: Request, session_id: str) -> Response:
        session = access.session_for(request.user, session_id, Permission.VIEW)
        actions = AdminAction.objects.filter(session=session).order_by("id")
        return Response([payloads.action_payload(a) for a in actions])

    @extend_schema(
        parameters=[uuid_path("session_id")], request=schemas.ActionRequest, responses={201: schemas.ActionOut}
    )
    def post(self, request: Request, session_id: str) -> Response:
        # The same field declarations as the staff socket's frames (schemas/staff_actions.py), so both
        # refuse alike.
        action = schemas.parse_action(request.data)
        common: dict[str, Any] = {"session_id": session_id, "actor": request.user}
        if isinstance(action, schemas.MessageAction):
            done = services.staff_message(**common, fields=action)
        elif isinstance(action, schemas.ExtendTimeAction):
            done = services.staff_extend_time(**common, fields=action)
        elif isinstance(action, schemas.AddQuestionAction):
            done = services.staff_add_question(**common, fields=action)
        else:
            done = services.staff_end(**common, fields=action)
        # The service committed; send what it logged to the candidate and to watching staff.
        publish(done.emitted)
        return Response(done.action, status=201)
