"""Staff endpoints (DRF, IsAdminUser) for answer review, graded examples and team calibration."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import reviews, selectors
from ..constants import MAX_REVIEW_NOTE_CHARS
from ..errors import ErrorCode, InterviewError
from ..models import AIInterviewQuestion
from ..rows import parse_uuid


class StrictFloatField(serializers.FloatField):
    """A JSON number only: like the candidate's wire formats, "7" and true are not 7."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class AnswerReviewRequest(serializers.Serializer):
    score = StrictFloatField(min_value=0, max_value=10)
    note = StrictCharField(required=False, allow_blank=True, max_length=MAX_REVIEW_NOTE_CHARS, default="")


class ReviewOut(serializers.Serializer):
    id = serializers.IntegerField()
    response_id = serializers.UUIDField()
    score = serializers.FloatField(help_text="the reviewer's score, 0-10")
    note = serializers.CharField()
    reviewer = serializers.CharField(allow_null=True)
    ai_score = serializers.FloatField(allow_null=True, help_text="the AI score the reviewer saw (kept, never changed)")
    ai_raw_score = serializers.FloatField(allow_null=True)
    calibration_version = serializers.IntegerField(allow_null=True)
    current = serializers.BooleanField(help_text="false once a later review superseded it")
    created_at = serializers.DateTimeField()


class ScoreRevisionOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["answer", "result"])
    score = serializers.FloatField(allow_null=True)
    raw_score = serializers.FloatField(allow_null=True)
    recommendation = serializers.CharField(allow_null=True)
    provenance = serializers.DictField()
    reason = serializers.CharField()
    replaced_at = serializers.DateTimeField()


class AnswerReviewStateOut(serializers.Serializer):
    response_id = serializers.UUIDField()
    session_id = serializers.UUIDField()
    question_id = serializers.UUIDField()
    question = serializers.CharField()
    answer = serializers.CharField()
    ai_score = serializers.FloatField(allow_null=True, help_text="the AI score as shown (calibrated)")
    raw_score = serializers.FloatField(allow_null=True, help_text="the grader's score before calibration")
    calibration_version = serializers.IntegerField(allow_null=True)
    graded_examples = serializers.ListField(child=serializers.IntegerField(), help_text="review ids")
    evaluation_status = serializers.CharField()
    review = ReviewOut(allow_null=True, help_text="the current review")
    reviews = ReviewOut(many=True, help_text="every review, newest first")
    score_history = ScoreRevisionOut(many=True, help_text="AI scores replaced by re-grades, newest first")


class GradedExampleOut(serializers.Serializer):
    review_id = serializers.IntegerField()
    response_id = serializers.UUIDField()
    answer = serializers.CharField()
    score = serializers.FloatField()
    note = serializers.CharField()
    ai_score = serializers.FloatField(allow_null=True)


class CalibrationOut(serializers.Serializer):
    version = serializers.IntegerField()
    active = serializers.BooleanField()
    fit_name = serializers.CharField()
    pair_count = serializers.IntegerField()
    mapping = serializers.DictField(help_text='{"kind": "piecewise_linear", "x": [...], "y": [...]}')
    summary = serializers.DictField(help_text="in-sample bias and RMSE before and after")
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class RegradeOut(serializers.Serializer):
    sessions = serializers.IntegerField()
    answers_seen = serializers.IntegerField()
    answers_changed = serializers.IntegerField()
    answers_skipped = serializers.IntegerField(help_text="calibrated by a provider: re-grade those with the provider")
    results_changed = serializers.IntegerField()
    calibration_version = serializers.IntegerField(allow_null=True)


class CalibrationChangeOut(serializers.Serializer):
    calibration = CalibrationOut(allow_null=True)
    regrade = RegradeOut(allow_null=True)


class RefitRequest(serializers.Serializer):
    activate = serializers.BooleanField(default=True)
    regrade = serializers.BooleanField(default=False, help_text="re-grade stored scores through the new mapping")


class ActivateRequest(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, allow_null=True, help_text="null: no calibration")
    regrade = serializers.BooleanField(default=True)


def _regrade(actor: Any) -> dict[str, Any]:
    report = reviews.answers_regrade(actor=actor)
    return RegradeOut(report).data


class AnswerReviewView(APIView):
    @extend_schema(responses=AnswerReviewStateOut, summary="An answer's AI score, its current review and history")
    def get(self, request: Request, response_id: str) -> Response:
        state = selectors.answer_review_state(response_id=response_id)
        if state is None:
            raise InterviewError(ErrorCode.NOT_FOUND, "No such answer.")
        return Response(state)

    @extend_schema(
        request=AnswerReviewRequest,
        responses={201: AnswerReviewStateOut},
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
        responses=GradedExampleOut(many=True),
        summary="The reviewed answers of a question (by its text, in every session): the grader's examples",
    )
    def get(self, request: Request, question_id: str) -> Response:
        question = AIInterviewQuestion.objects.filter(pk=parse_uuid(question_id, "question_id")).first()
        if question is None:
            raise InterviewError(ErrorCode.NOT_FOUND, "No such question.")
        return Response(GradedExampleOut(selectors.graded_examples_for(question), many=True).data)


class CalibrationsView(APIView):
    @extend_schema(responses=CalibrationOut(many=True), summary="Calibration versions, newest first")
    def get(self, request: Request) -> Response:
        return Response(selectors.calibrations())

    @extend_schema(
        request=RefitRequest,
        responses={201: CalibrationChangeOut},
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
        responses=CalibrationChangeOut,
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
        responses=RegradeOut,
        summary="Re-grade stored AI scores through the active calibration, keeping history",
    )
    def post(self, request: Request) -> Response:
        return Response(_regrade(request.user))
