from channels.auth import AuthMiddlewareStack
from django.urls import path

from .admin_live import AdminLiveConsumer
from .candidate import CandidateConsumer

websocket_urlpatterns = [
    path("ws/interview/<str:token>/", CandidateConsumer.as_asgi()),
    # Only the staff socket reads the session cookie: a candidate's socket never pays for it.
    path("ws/admin/live/", AuthMiddlewareStack(AdminLiveConsumer.as_asgi())),
]
