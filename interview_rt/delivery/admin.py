"""The webhook endpoints (editable) and the delivery log (read-only, with send-again and cancel)."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from interview_rt.interviews.admin import ReadOnlyAdmin

from . import webhooks
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "events", "active", "created_at"]
    list_filter = ["active"]


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    fields = ("number", "started_at", "status_code", "error", "duration_ms")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: every event, its status, and each attempt with the receiver's answer."""

    list_display = ["created_at", "event", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at"]
    list_filter = ["status", "event", "endpoint"]
    search_fields = ["event_id"]
    inlines = [AttemptInline]
    actions = ["send_again_now", "cancel"]

    @admin.action(description="Send again now (failed or pending)")
    def send_again_now(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = webhooks.webhook_retry(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} deliveries queued to send now.", messages.SUCCESS)

    @admin.action(description="Cancel (pending)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = webhooks.webhook_cancel(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} deliveries cancelled.", messages.SUCCESS)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Actions need the change permission; the form itself stays read-only (readonly_fields).
        return bool(request.user.is_staff)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]
