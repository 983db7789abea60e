from django.conf import settings
from django.urls import path

from .candidate import CandidateConsumer
from .worker import AIWorkerConsumer

websocket_urlpatterns = [
    path("ws/interview/<str:token>/", CandidateConsumer.as_asgi()),
]

channel_routes = {settings.AI_WORKER_CHANNEL: AIWorkerConsumer.as_asgi()}
