"""Workers' heartbeats: a live worker's leases hold."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ..models import (
    WorkerBeat,
)


def worker_beat(*, worker_id: str) -> None:
    """A worker is alive (its leases hold); rows of workers gone for an hour are dropped."""
    now = timezone.now()
    WorkerBeat.objects.update_or_create(id=worker_id, defaults={"beat_at": now})
    if now.second == 0:  # about once a minute per worker: enough to keep the table small
        WorkerBeat.objects.filter(beat_at__lt=now - timedelta(hours=1)).delete()


def worker_gone(*, worker_id: str) -> None:
    """A worker stopped cleanly: its leases (if any are left) may be taken at once."""
    WorkerBeat.objects.filter(id=worker_id).delete()
