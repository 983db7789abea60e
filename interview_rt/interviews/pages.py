"""The candidate page: a small browser client that uses only the documented socket protocol."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def candidate_page(request: HttpRequest, token: str) -> HttpResponse:
    return render(request, "interviews/candidate.html", {"token": token})
