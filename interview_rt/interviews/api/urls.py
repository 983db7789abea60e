from django.urls import path

from . import public, staff

urlpatterns = [
    path("interviews/access/<str:token>/", public.access_view, name="interview-access"),
    path("ai-interview/start/", public.start_view, name="ai-interview-start"),
    path("ai-interview/run-interview/", public.run_interview_view, name="ai-interview-run"),
    path("ai-interview/invitations/", staff.InvitationCreateView.as_view(), name="ai-interview-invitations"),
    path("ai-interview/sessions/", staff.SessionListView.as_view(), name="ai-interview-sessions"),
    path(
        "ai-interview/sessions/<str:session_id>/results/",
        staff.SessionResultView.as_view(),
        name="ai-interview-results",
    ),
    path(
        "ai-interview/sessions/<str:session_id>/actions/",
        staff.SessionActionsView.as_view(),
        name="ai-interview-actions",
    ),
    path("ai-interview/results/<str:session_id>/review/", staff.ResultReviewView.as_view(), name="ai-interview-review"),
]
