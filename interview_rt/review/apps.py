from django.apps import AppConfig


class ReviewConfig(AppConfig):
    """Human review, team calibration and re-grading; analytics, reports and exports."""

    name = "interview_rt.review"
    label = "review"
    verbose_name = "Review and analytics"
    default_auto_field = "django.db.models.BigAutoField"
