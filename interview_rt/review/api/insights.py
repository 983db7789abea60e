"""Staff endpoints (DRF, IsAdminUser) for analytics (JSON) and CSV exports of results."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from interview_rt.interviews.api import bodies

from .. import reports

# What reports.Filters.from_params parses: a date (midnight UTC), a date-time with its offset, or
# empty (no bound).
WHEN = {
    "anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
        {"type": "string", "maxLength": 0},
    ]
}
FILTERS = [
    OpenApiParameter("job", str, description="a job title, exactly"),
    OpenApiParameter("since", WHEN, description="sessions created at or after (RFC 3339 date or date-time)"),
    OpenApiParameter("until", WHEN, description="sessions created before (RFC 3339 date or date-time)"),
]


class AnalyticsView(APIView):
    @extend_schema(
        parameters=FILTERS,
        responses=bodies.AnalyticsOut,
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
    reports.export_record(actor=request.user, kind=kind, filters=filters.as_dict())
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
