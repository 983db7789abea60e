from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    """Outbound delivery: signed webhooks out of a queue kept in the database."""

    name = "interview_rt.delivery"
    label = "delivery"
    verbose_name = "Webhook delivery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The lifecycle and review announce what happened with signals; delivery subscribes here.
        from . import receivers  # noqa: F401
