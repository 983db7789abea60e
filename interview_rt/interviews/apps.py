from django.apps import AppConfig


class InterviewsConfig(AppConfig):
    name = "interview_rt.interviews"
    label = "interviews"
    verbose_name = "AI interviews"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  registers system checks
