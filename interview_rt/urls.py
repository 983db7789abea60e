"""HTTP only: REST API, admin, schema, health/readiness/metrics, and the candidate page. Sockets are in consumers/."""

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from interview_rt import ops
from interview_rt.interviews import pages


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"code": "not_found", "message": "No such endpoint."}, status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"code": "internal_error", "message": "Something went wrong."}, status=500)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"code": "bad_request", "message": "The request could not be read."}, status=400)


handler400 = bad_request
handler404 = not_found
handler500 = server_error

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("interview_rt.interviews.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("healthz", ops.healthz, name="health"),
    path("readyz", ops.readyz, name="ready"),
    path("metrics", ops.metrics_view, name="metrics"),
    path("interview/<str:token>", pages.candidate_page, name="candidate-page"),
    path("interview/<str:token>/", pages.candidate_page),
]
