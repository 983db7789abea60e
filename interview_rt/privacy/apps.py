from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """Erasure across every app, retention purges, the candidate's optional self-reported group.
    No models of its own: it deletes and redacts the others' rows, and leaves review's
    ErasedSession (the anonymised facts the aggregates keep counting)."""

    name = "interview_rt.privacy"
    label = "privacy"
    verbose_name = "Privacy"
    default_auto_field = "django.db.models.BigAutoField"
