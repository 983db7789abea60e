"""The webhook queue's rows: endpoints, one delivery per event and endpoint, each attempt."""

from __future__ import annotations

import secrets
import uuid

from django.db import models

from interview_rt.interviews.constants import DeliveryStatus, choices
from interview_rt.interviews.models import Candidate


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128, default=new_webhook_secret, help_text="shared HMAC-SHA256 key")
    # Event types this endpoint receives; empty means all.
    events = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} -> {self.url}"


class WebhookDelivery(models.Model):
    """One event for one endpoint: the queue (status + next_attempt_at) and its log. Kept in the
    database so a restart loses nothing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    # The same for every endpoint that receives the event; receivers deduplicate on it.
    event_id = models.UUIDField(default=uuid.uuid4)
    event = models.CharField(max_length=50)
    payload = models.JSONField()
    # Whose data the payload holds, so an erasure can redact it.
    candidate = models.ForeignKey(
        Candidate, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_deliveries"
    )
    status = models.CharField(max_length=10, choices=choices(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Lease of the sender working on it; a lapsed lease is retaken (crashed sender).
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id} -> {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.FloatField(default=0)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.status_code or self.error}"
