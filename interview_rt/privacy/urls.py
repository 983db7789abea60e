from django.urls import path

from . import api

# Under /api/ beside the lifecycle's (docs/privacy.md); the paths are the public contract.
urlpatterns = [
    path("ai-interview/erasures/", api.ErasureView.as_view(), name="erasures"),
    path("interviews/access/<str:token>/demographics/", api.demographics_view, name="interview-demographics"),
]
