"""The Django admin is styled when daphne alone serves the app: static files through WhiteNoise,
from the apps' folders on the embedded default and from collectstatic's hashed, compressed copies
in production."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Server, free_port

pytestmark = pytest.mark.slow


def admin_stylesheet(server: Server) -> httpx.Response:
    login = httpx.get(f"{server.http}/admin/login/", timeout=30)
    assert login.status_code == 200
    href = re.search(r'href="([^"]*admin/css/base[^"]*\.css)"', login.text)
    assert href, login.text[:500]
    return httpx.get(f"{server.http}{href[1]}", timeout=30, headers={"Accept-Encoding": "gzip"})


def test_embedded_default_serves_the_admin_styles(server_factory: Any) -> None:
    server = server_factory()
    server.start()
    css = admin_stylesheet(server)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    page = httpx.get(f"{server.http}/static/interviews/candidate.js", timeout=30)
    assert page.status_code == 200 and "answer.draft" in page.text


def test_production_serves_collected_hashed_styles(server_factory: Any, tmp_path: Path) -> None:
    base = server_factory()
    env = {
        **base.env,
        "DJANGO_SETTINGS_MODULE": "interview_rt.settings.production",
        "SECRET_KEY": "s" * 40,
        "INTERVIEW_LINK_SECRET": "l" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(tmp_path / "static"),
        # Plain HTTP on loopback: TLS and its redirect are the proxy's job in front of production.
        "SECURE_SSL_REDIRECT": "0",
    }
    server = Server(env, free_port())
    server.manage("collectstatic", "--noinput", "--verbosity", "0")
    server.start()
    try:
        css = admin_stylesheet(server)
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert re.search(r"base\.[0-9a-f]{12}\.css", str(css.url)), css.url  # content-hashed name
        assert "max-age" in css.headers.get("cache-control", "")
        assert css.headers.get("content-encoding") in ("gzip", "br")
    finally:
        server.stop()
