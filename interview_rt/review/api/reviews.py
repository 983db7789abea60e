"""Staff endpoints (DRF, IsAdminUser) for answer review, graded examples and team calibration."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from interview_rt.interviews.api import bodies
from interview_rt.interviews.api.http import StrictSerializer
from interview_rt.interviews.api.openapi import uuid_path
from interview_rt.interviews.constants import MAX_REVIEW_NOTE_CHARS
from interview_rt.interviews.errors import ErrorCode, InterviewError
from interview_rt.interviews.models import AIInterviewQuestion
from interview_rt.interviews.rows import parse_uuid

from .. import reviews, selectors


class AnswerReviewRequest(StrictSerializer):
    # StrictSerializer takes only JSON numbers and strings: "7" and true are not 7.
    score = serializers.FloatField(min_value=0, max_value=10)
    note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_REVIEW_NOTE_CHARS, default="")


class RefitRequest(StrictSerializer):
    activate = serializers.BooleanField(default=True)
    regrade = serializers.BooleanField(default=False, help_text="re-grade stored scores through the new mapping")


class ActivateRequest(StrictSerializer):
    version = serializers.IntegerField(min_value=1, allow_null=True, help_text="null: no calibration")
    regrade = serializers.BooleanField(default=True)


def _regrade(actor: Any) -> dict[str, Any]:
    return bodies.dump(bodies.RegradeOut, reviews.answers_regrade(actor=actor))


class AnswerReviewView(APIView):
    @extend_schema(
        parameters=[uuid_path("response_id")],
        responses=bodies.AnswerReviewStateOut,
        summary="An answer's AI score, its current review and history",
    )
    def get(self, request: Request, response_id: str) -> Response:
        state = selectors.answer_review_state(response_id=response_id)
        if state is None:
            raise InterviewError(ErrorCode.NOT_FOUND, "No such answer.")
        return Response(state)

    @extend_schema(
        parameters=[uuid_path("response_id")],
        request=AnswerReviewRequest,
        responses={201: bodies.AnswerReviewStateOut},
        summary="Score an answer (0-10, with a note); supersedes its current review",
    )
    def post(self, request: Request, response_id: str) -> Response:
        body = AnswerReviewRequest(data=request.data)
        body.is_valid(raise_exception=True)
        review = reviews.answer_review(
            response_id=response_id,
            reviewer=request.user,
            score=body.validated_data["score"],
            note=body.validated_data["note"],
        )
        return Response(selectors.answer_review_state(response_id=review.response_id), status=201)


class GradedExamplesView(APIView):
    @extend_schema(
        parameters=[uuid_path("question_id")],
        responses=bodies.GradedExampleList,
        summary="The reviewed answers of a question (by its text, in every session): the grader's examples",
    )
    def get(self, request: Request, question_id: str) -> Response:
        question = AIInterviewQuestion.objects.filter(pk=parse_uuid(question_id, "question_id")).first()
        if question is None:
            raise InterviewError(ErrorCode.NOT_FOUND, "No such question.")
        return Response([bodies.dump(bodies.GradedExampleOut, e) for e in selectors.graded_examples_for(question)])


class CalibrationsView(APIView):
    @extend_schema(responses=bodies.CalibrationList, summary="Calibration versions, newest first")
    def get(self, request: Request) -> Response:
        return Response(selectors.calibrations())

    @extend_schema(
        request=RefitRequest,
        responses={201: bodies.CalibrationChangeOut},
        summary="Fit a new calibration version on every current review",
    )
    def post(self, request: Request) -> Response:
        body = RefitRequest(data=request.data)
        body.is_valid(raise_exception=True)
        calibration = reviews.calibration_refit(actor=request.user, activate=body.validated_data["activate"])
        regrade = _regrade(request.user) if body.validated_data["regrade"] and calibration.active else None
        return Response(
            {"calibration": selectors.calibration_payload(calibration), "regrade": regrade},
            status=201,
        )


class CalibrationActivateView(APIView):
    @extend_schema(
        request=ActivateRequest,
        responses=bodies.CalibrationChangeOut,
        summary="Make a calibration version active (or none), and re-grade",
    )
    def post(self, request: Request) -> Response:
        body = ActivateRequest(data=request.data)
        body.is_valid(raise_exception=True)
        calibration = reviews.calibration_activate(version=body.validated_data["version"], actor=request.user)
        regrade = _regrade(request.user) if body.validated_data["regrade"] else None
        return Response(
            {"calibration": selectors.calibration_payload(calibration) if calibration else None, "regrade": regrade}
        )


class RegradeView(APIView):
    @extend_schema(
        request=None,
        responses=bodies.RegradeOut,
        summary="Re-grade stored AI scores through the active calibration, keeping history",
    )
    def post(self, request: Request) -> Response:
        return Response(_regrade(request.user))
