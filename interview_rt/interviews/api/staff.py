"""Staff endpoints (DRF, IsAdminUser): sessions, results with provenance, human review."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from interview_rt.runtime import runtime

from .. import links, selectors, services
from ..constants import (
    DEFAULT_QUESTION_COUNT,
    DEFAULT_TIME_LIMIT_SECONDS,
    DIFFICULTIES,
    INTERVIEW_TYPES,
    MAX_PLANNED_QUESTIONS,
    MAX_TIME_LIMIT_SECONDS,
    MIN_TIME_LIMIT_SECONDS,
    FeedbackMode,
    Recommendation,
    Status,
)
from ..errors import ErrorCode, InterviewError
from ..models import AIInterviewSession


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


class ReviewSerializer(serializers.Serializer):
    human_score = serializers.FloatField(min_value=0, max_value=10, required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000, default="")
    final_decision = serializers.ChoiceField(choices=[str(r) for r in Recommendation])


class InvitationSerializer(serializers.Serializer):
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


class InvitationCreateView(APIView):
    """POST /api/ai-interview/invitations/: what `manage.py create_interview` does, over HTTP."""

    @extend_schema(request=InvitationSerializer, responses={201: dict})
    def post(self, request: Request) -> Response:
        body = InvitationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        days = data.pop("expires_in_days", None)
        invitation = services.invitation_create(**data, expires_in=timedelta(days=days) if days else None)
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

    @extend_schema(request=None, responses=dict)
    def post(self, request: Request, invitation_id: str) -> Response:
        runtime.publish(services.invitation_revoke(invitation_id=invitation_id))
        return Response({"invitation_id": invitation_id, "revoked": True})


class SessionListView(APIView):
    @extend_schema(responses=SessionSummarySerializer(many=True))
    def get(self, request: Request) -> Response:
        qs = AIInterviewSession.objects.select_related("invitation__candidate", "invitation__job").order_by(
            "-created_at"
        )
        status = request.query_params.get("status")
        if status:
            # Only known statuses reach the database (a NUL in a filter is an error on PostgreSQL).
            if status not in tuple(Status):
                raise InterviewError(
                    ErrorCode.INVALID_FIELD, f"status must be one of {', '.join(Status)}.", field="status"
                )
            qs = qs.filter(status=status)
        return Response(SessionSummarySerializer(qs[:200], many=True).data)


def _session(session_id: Any) -> AIInterviewSession:
    session = selectors.session_get(session_id=session_id)
    if session is None:
        raise InterviewError(ErrorCode.SESSION_NOT_FOUND, "No such interview session.")
    return session


class SessionResultView(APIView):
    @extend_schema(responses=dict)
    def get(self, request: Request, session_id: str) -> Response:
        return Response(selectors.session_result_detail(session=_session(session_id)))


class ResultReviewView(APIView):
    @extend_schema(request=ReviewSerializer, responses=dict)
    def post(self, request: Request, session_id: str) -> Response:
        session = _session(session_id)
        body = ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.result_review(
            session_id=session.id,
            reviewer=request.user,
            human_score=body.validated_data.get("human_score"),
            notes=body.validated_data.get("notes", ""),
            final_decision=body.validated_data["final_decision"],
        )
        return Response(selectors.session_result_detail(session=session))
