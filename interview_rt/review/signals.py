"""What the review app announces to the apps above it (delivery enqueues a webhook); sent inside
the review's transaction, like the lifecycle's (`interviews/signals.py`)."""

from __future__ import annotations

from django.dispatch import Signal

# A reviewer scored an answer: sender=AnswerReview, review=.
answer_reviewed = Signal()
