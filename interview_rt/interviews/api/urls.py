from django.urls import path

from . import public, staff, staffing

# The lifecycle's endpoints; the project's urls.py adds the other apps' under the same /api/.
urlpatterns = [
    path("interviews/access/<str:token>/", public.access_view, name="interview-access"),
    path("ai-interview/start/", public.start_view, name="ai-interview-start"),
    path("ai-interview/run-interview/", public.run_interview_view, name="ai-interview-run"),
    path("ai-interview/invitations/", staff.InvitationCreateView.as_view(), name="ai-interview-invitations"),
    path(
        "ai-interview/invitations/<str:invitation_id>/revoke/",
        staff.InvitationRevokeView.as_view(),
        name="ai-interview-invitation-revoke",
    ),
    path("ai-interview/sessions/", staff.SessionListView.as_view(), name="ai-interview-sessions"),
    path(
        "ai-interview/sessions/<str:session_id>/actions/",
        staff.SessionActionsView.as_view(),
        name="ai-interview-actions",
    ),
    path("ai-interview/staff/users/", staffing.StaffUsersView.as_view(), name="staff-users"),
    path("ai-interview/staff/users/<str:username>/", staffing.StaffUserView.as_view(), name="staff-user"),
    path("ai-interview/staff/jobs/", staffing.JobTeamsView.as_view(), name="staff-jobs"),
    path("ai-interview/staff/jobs/<int:job_id>/", staffing.JobTeamView.as_view(), name="staff-job"),
]
