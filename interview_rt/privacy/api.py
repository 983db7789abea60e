"""Privacy endpoints: the candidate's optional self-reported group (public, the link's token is
the credential; socket-independent so any candidate page can call it), and erasure (staff)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from interview_rt.interviews import schemas
from interview_rt.interviews.api import bodies
from interview_rt.interviews.api.errors import error_response
from interview_rt.interviews.api.http import StrictSerializer
from interview_rt.interviews.api.public import _body, allow
from interview_rt.interviews.errors import InterviewError
from interview_rt.runtime import candidate_db

from . import services as privacy


@csrf_exempt
@allow("GET", "POST")
async def demographics_view(request: HttpRequest, token: str) -> JsonResponse:
    """GET/POST /api/interviews/access/<token>/demographics/."""
    try:
        if request.method == "GET":
            state = await candidate_db(privacy.candidate_self_report_state)(token=token)
        else:
            body = schemas.validate(schemas.DemographicsRequest, _body(request))
            state = await candidate_db(privacy.candidate_self_report)(
                token=token, group=body.group, consent=body.consent
            )
    except InterviewError as exc:
        return error_response(exc)
    return JsonResponse(schemas.DemographicsView(**state).model_dump())


class ErasureRequest(StrictSerializer):
    candidate_id = serializers.IntegerField(required=False, min_value=1)
    email = serializers.CharField(required=False, max_length=254)
    reference = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=100, help_text="a ticket id for the audit log"
    )
    dry_run = serializers.BooleanField(default=False)
    # validate(), for the OpenAPI document: exactly one of the two.
    openapi_constraints = {"oneOf": [{"required": ["candidate_id"]}, {"required": ["email"]}]}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("candidate_id" in attrs) == ("email" in attrs):
            raise serializers.ValidationError({"candidate_id": "give either candidate_id or email"})
        return attrs


class ErasureView(APIView):
    @extend_schema(
        request=ErasureRequest,
        responses=bodies.ErasureOut,
        summary="Erase a candidate everywhere (every row with the same email), keeping anonymised aggregates",
    )
    def post(self, request: Request) -> Response:
        body = ErasureRequest(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        report = privacy.candidate_erase(
            candidate_id=data.get("candidate_id"),
            email=data.get("email"),
            actor=request.user,
            reference=data["reference"],
            dry_run=data["dry_run"],
        )
        return Response(bodies.dump(bodies.ErasureOut, report))
