"""Pages served by Django, no front-end build: the candidate page and the staff dashboard. Each
is a small browser client of the documented sockets and REST endpoints (docs/protocol.md)."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from . import access, notices
from .constants import MAX_EXTEND_SECONDS


def candidate_page(request: HttpRequest, token: str) -> HttpResponse:
    # The deployment's notice, shown at once; the socket's snapshot carries the job's (if it has
    # its own), and the page switches to it before the candidate can accept.
    notice = notices.deployment_notice()
    context = {"token": token, "notice": notice.text, "notice_version": notice.version}
    return render(request, "interviews/candidate.html", context)


class StaffLoginView(auth_views.LoginView):
    template_name = "interviews/staff_login.html"
    redirect_authenticated_user = True


@login_required
@ensure_csrf_cookie
def staff_dashboard(request: HttpRequest) -> HttpResponse:
    role = access.role_of(request.user)
    if role is None:
        return render(request, "interviews/staff_denied.html", status=403)
    context = {
        "role": role.value,
        "can_act": "act" in access.permissions_of(request.user),
        "max_extend": MAX_EXTEND_SECONDS,
    }
    return render(request, "interviews/dashboard.html", context)
