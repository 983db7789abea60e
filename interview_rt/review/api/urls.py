from django.urls import path

from . import insights, reviews, sessions

# Under /api/ beside the lifecycle's (the paths are the public contract, unchanged by the split).
urlpatterns = [
    path(
        "ai-interview/sessions/<str:session_id>/results/",
        sessions.SessionResultView.as_view(),
        name="ai-interview-results",
    ),
    path(
        "ai-interview/results/<str:session_id>/review/", sessions.ResultReviewView.as_view(), name="ai-interview-review"
    ),
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
    # Analytics and exports (docs/analytics.md).
    path("ai-interview/analytics/", insights.AnalyticsView.as_view(), name="analytics"),
    path("ai-interview/exports/sessions.csv", insights.SessionsCSVView.as_view(), name="export-sessions"),
    path("ai-interview/exports/answers.csv", insights.AnswersCSVView.as_view(), name="export-answers"),
]
