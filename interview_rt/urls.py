"""HTTP only: REST API, admin, schema, health/readiness/metrics, the candidate page and the staff
dashboard. Sockets are in consumers/; static files are served by WhiteNoise's middleware."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from interview_rt import ops
from interview_rt.interviews import pages
from interview_rt.review import staff_pages


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
    path("api/", include("interview_rt.review.api.urls")),
    path("api/", include("interview_rt.privacy.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Any other /api/ path: the JSON 404 (with DEBUG on Django would answer its HTML page, and
    # APPEND_SLASH would redirect or fail a POST).
    re_path(r"^api/", not_found),
    path("healthz", ops.healthz, name="health"),
    path("readyz", ops.readyz, name="ready"),
    path("metrics", ops.metrics_view, name="metrics"),
    path("interview/<str:token>", pages.candidate_page, name="candidate-page"),
    path("interview/<str:token>/", pages.candidate_page),
    # Staff pages (staff login), linkable from a dashboard.
    path("staff/analytics/", staff_pages.analytics_page, name="staff-analytics"),
    path("staff/sessions/<str:session_id>/report/", staff_pages.session_report_page, name="staff-session-report"),
    path("staff/", pages.staff_dashboard, name="staff-dashboard"),
    path("staff/login/", pages.StaffLoginView.as_view(), name="staff-login"),
    path("staff/logout/", auth_views.LogoutView.as_view(next_page="/staff/login/"), name="staff-logout"),
]
