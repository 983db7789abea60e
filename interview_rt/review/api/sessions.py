"""Staff endpoints (DRF) for a session's result as a reviewer sees it: the lifecycle's result and
answers with their provenance and integrity signals, each answer's current human review, and the
result's own review. Here, above the lifecycle, because it composes both apps' rows."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from interview_rt.interviews import access, services
from interview_rt.interviews.api.http import StrictSerializer
from interview_rt.interviews.api.openapi import uuid_path
from interview_rt.interviews.api.staff import StaffView
from interview_rt.interviews.constants import Permission, Recommendation

from .. import selectors


class ReviewSerializer(StrictSerializer):
    human_score = serializers.FloatField(min_value=0, max_value=10, required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000, default="")
    final_decision = serializers.ChoiceField(choices=[str(r) for r in Recommendation])


class SessionResultView(StaffView):
    @extend_schema(parameters=[uuid_path("session_id")], responses=dict)
    def get(self, request: Request, session_id: str) -> Response:
        session = access.session_for(request.user, session_id, Permission.VIEW)
        return Response(selectors.session_result_detail(session=session))


class ResultReviewView(StaffView):
    required = Permission.REVIEW

    @extend_schema(parameters=[uuid_path("session_id")], request=ReviewSerializer, responses=dict)
    def post(self, request: Request, session_id: str) -> Response:
        session = access.session_for(request.user, session_id, Permission.REVIEW)
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
