from django.urls import path

from . import insights, privacy, public, reviews, staff, staffing

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
    # Human review of answers and team calibration (docs/rest.md, "Reviews and calibration").
    path("ai-interview/answers/<str:response_id>/review/", reviews.AnswerReviewView.as_view(), name="answer-review"),
    path(
        "ai-interview/questions/<str:question_id>/graded-examples/",
        reviews.GradedExamplesView.as_view(),
        name="graded-examples",
    ),
    path("ai-interview/calibrations/", reviews.CalibrationsView.as_view(), name="calibrations"),
    path(
        "ai-interview/calibrations/activate/",
        reviews.CalibrationActivateView.as_view(),
        name="calibration-activate",
    ),
    path("ai-interview/calibrations/regrade/", reviews.RegradeView.as_view(), name="calibration-regrade"),
    # Analytics and exports (docs/analytics.md), privacy (docs/privacy.md).
    path("ai-interview/analytics/", insights.AnalyticsView.as_view(), name="analytics"),
    path("ai-interview/exports/sessions.csv", insights.SessionsCSVView.as_view(), name="export-sessions"),
    path("ai-interview/exports/answers.csv", insights.AnswersCSVView.as_view(), name="export-answers"),
    path("ai-interview/staff/users/", staffing.StaffUsersView.as_view(), name="staff-users"),
    path("ai-interview/staff/users/<str:username>/", staffing.StaffUserView.as_view(), name="staff-user"),
    path("ai-interview/staff/jobs/", staffing.JobTeamsView.as_view(), name="staff-jobs"),
    path("ai-interview/staff/jobs/<int:job_id>/", staffing.JobTeamView.as_view(), name="staff-job"),
    path("ai-interview/erasures/", privacy.ErasureView.as_view(), name="erasures"),
    path("interviews/access/<str:token>/demographics/", privacy.demographics_view, name="interview-demographics"),
]
