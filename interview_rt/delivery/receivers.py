"""The events delivery sends, subscribed to the signals of the apps that cause them; each runs in
the sender's transaction, so a delivery is enqueued exactly when its cause commits."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from interview_rt.interviews import signals
from interview_rt.review import signals as review_signals

from . import webhooks


@receiver(signals.interview_completed, dispatch_uid="delivery.interview_completed")
def interview_completed(sender: Any, *, session: Any, result: Any, answers: Any, **kwargs: Any) -> None:
    webhooks.webhook_enqueue(**webhooks.completed_event(session, result, answers))


@receiver(signals.result_reviewed, dispatch_uid="delivery.result_reviewed")
def result_reviewed(sender: Any, *, result: Any, **kwargs: Any) -> None:
    webhooks.webhook_enqueue(**webhooks.result_reviewed_event(result))


@receiver(review_signals.answer_reviewed, dispatch_uid="delivery.answer_reviewed")
def answer_reviewed(sender: Any, *, review: Any, **kwargs: Any) -> None:
    webhooks.webhook_enqueue(**webhooks.answer_reviewed_event(review))
