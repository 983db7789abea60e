"""What the lifecycle announces to the apps above it, which subscribe (delivery enqueues a webhook),
so it imports none of them.

Each is sent inside the transaction that made the change, and Django's `Signal.send` runs the
receivers there and then and lets their exceptions through: what a receiver writes commits with
the change or rolls back with it (the webhook delivery exists exactly when the completion does).
"""

from __future__ import annotations

from django.dispatch import Signal

# An interview completed: sender=AIInterviewSession, session=, result=, answers= (with `question`).
interview_completed = Signal()
# Staff reviewed a session's result: sender=AIInterviewResult, result=.
result_reviewed = Signal()
