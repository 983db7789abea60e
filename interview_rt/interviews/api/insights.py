"""Staff endpoints (DRF, IsAdminUser) for analytics (JSON) and CSV exports of results."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import privacy, reports

FILTERS = [
    OpenApiParameter("job", str, description="a job title, exactly"),
    OpenApiParameter("since", str, description="sessions created at or after (ISO date or datetime, UTC)"),
    OpenApiParameter("until", str, description="sessions created before (ISO date or datetime, UTC)"),
]


class EstimateOut(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)


class AgreementOut(serializers.Serializer):
    n = serializers.IntegerField(help_text="reviewed answers with an AI score")
    pearson = EstimateOut()
    qwk = EstimateOut(help_text="quadratic weighted kappa over whole points 0-10")
    mean_bias = EstimateOut(help_text="mean of AI minus human; negative: the AI is stricter")
    rmse = EstimateOut()


class ReviewerAgreementOut(AgreementOut):
    reviewer = serializers.CharField()


class FunnelOut(serializers.Serializer):
    sessions = serializers.IntegerField()
    started = serializers.IntegerField()
    completed = serializers.IntegerField()
    abandoned = serializers.IntegerField(help_text="started, then left or expired before completing")
    in_progress = serializers.IntegerField()
    completion_rate = serializers.FloatField(allow_null=True, help_text="completed / started")
    abandonment_rate = serializers.FloatField(allow_null=True, help_text="abandoned / started")
    median_duration_seconds = serializers.FloatField(allow_null=True, help_text="of completed sessions")


class HistogramOut(serializers.Serializer):
    bin_edges = serializers.ListField(child=serializers.FloatField())
    counts = serializers.ListField(child=serializers.IntegerField())


class DistributionOut(serializers.Serializer):
    n = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True)
    median = serializers.FloatField(allow_null=True)
    histogram = HistogramOut()


class GroupRateOut(serializers.Serializer):
    group = serializers.CharField()
    n = serializers.IntegerField()
    selected = serializers.IntegerField()
    selection_rate = serializers.FloatField()
    impact_ratio = serializers.FloatField(allow_null=True, help_text="selection rate / the highest shown rate")
    below_four_fifths = serializers.BooleanField()


class AdverseImpactOut(serializers.Serializer):
    groups = GroupRateOut(many=True, help_text="groups of at least 5 completed sessions")
    suppressed_groups = serializers.IntegerField(help_text="groups under 5, not shown")
    reference_group = serializers.CharField(allow_null=True)


class JobOut(serializers.Serializer):
    job = serializers.CharField()
    funnel = FunnelOut()
    overall_scores = DistributionOut()
    agreement = AgreementOut()
    adverse_impact = AdverseImpactOut()


class CompetencyOut(serializers.Serializer):
    competency = serializers.CharField()
    ai_scores = DistributionOut()
    human_scores = DistributionOut()


class AgreementSectionOut(serializers.Serializer):
    overall = AgreementOut()
    per_reviewer = ReviewerAgreementOut(many=True)


class AnalyticsOut(serializers.Serializer):
    filters = serializers.DictField()
    erased_sessions_included = serializers.IntegerField()
    bootstrap_resamples = serializers.IntegerField()
    funnel = FunnelOut()
    jobs = JobOut(many=True)
    competencies = CompetencyOut(many=True)
    agreement = AgreementSectionOut()


class AnalyticsView(APIView):
    @extend_schema(
        parameters=FILTERS,
        responses=AnalyticsOut,
        summary="Completion, durations, score distributions, AI-human agreement and adverse impact",
    )
    def get(self, request: Request) -> Response:
        return Response(reports.analytics_overview(reports.Filters.from_params(request.query_params)))


class Echo:
    """csv.writer into a generator: each row is written, then handed to the response."""

    def write(self, value: str) -> str:
        return value


def csv_stream(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    writer = csv.writer(Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([reports.csv_cell(v) for v in row])


class CSVRenderer(renderers.BaseRenderer):
    """Lets `Accept: text/csv` through content negotiation; the views stream the CSV themselves."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return b""


def _export(
    request: Request, kind: str, header: list[str], rows: Callable[[reports.Filters], Iterable[list[Any]]]
) -> StreamingHttpResponse:
    filters = reports.Filters.from_params(request.query_params)
    # Audited before the first byte leaves: an export that fails halfway was still an export.
    privacy.export_record(actor=request.user, kind=kind, filters=filters.as_dict())
    response = StreamingHttpResponse(csv_stream(header, rows(filters)), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{kind}-{stamp}.csv"'
    return response


CSV_RESPONSE = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV with a header row")}


class SessionsCSVView(APIView):
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]

    @extend_schema(parameters=FILTERS, responses=CSV_RESPONSE, summary="Results as CSV, one row per session")
    def get(self, request: Request) -> StreamingHttpResponse:
        return _export(request, "sessions", reports.SESSION_COLUMNS, reports.session_rows)


class AnswersCSVView(APIView):
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]

    @extend_schema(parameters=FILTERS, responses=CSV_RESPONSE, summary="Results as CSV, one row per answer")
    def get(self, request: Request) -> StreamingHttpResponse:
        return _export(request, "answers", reports.ANSWER_COLUMNS, reports.answer_rows)
