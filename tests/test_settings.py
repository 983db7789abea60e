"""Production settings refuse to start with default or weak secrets; env selects the AI provider."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_production(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "INTERVIEW_LINK_SECRET"}}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "interview_rt.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_default_secret() -> None:
    out = load_production()
    assert out.returncode != 0
    assert "SECRET_KEY must be set" in out.stderr


def test_production_refuses_link_secret_equal_to_secret_key() -> None:
    key = "k" * 40
    out = load_production(SECRET_KEY=key, INTERVIEW_LINK_SECRET=key)
    assert out.returncode != 0
    assert "INTERVIEW_LINK_SECRET" in out.stderr


def test_production_starts_with_real_secrets() -> None:
    out = load_production(SECRET_KEY="s" * 50, INTERVIEW_LINK_SECRET="l" * 50)
    assert out.returncode == 0, out.stderr
    assert "started" in out.stdout


@pytest.mark.parametrize(
    ("kind", "backend"),
    [
        ("embedded", "ai_service.providers.embedded.EmbeddedProvider"),
        ("http", "ai_service.providers.http_model.HTTPModelProvider"),
        ("openai", "ai_service.providers.openai_compat.OpenAICompatProvider"),
    ],
)
def test_ai_provider_env_selects_backend_with_embedded_fallback(kind: str, backend: str) -> None:
    from interview_rt.settings.base import build_ai_providers

    config = build_ai_providers(kind)
    assert config["default"]["BACKEND"] == backend
    if kind != "embedded":
        assert config["default"]["FALLBACK"] == "embedded"


def test_production_refuses_debug() -> None:
    out = load_production(SECRET_KEY="s" * 50, INTERVIEW_LINK_SECRET="l" * 50, DEBUG="1")
    assert out.returncode != 0
    assert "DEBUG must be off" in out.stderr


def test_production_passes_check_deploy_without_warnings() -> None:
    import secrets

    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "INTERVIEW_LINK_SECRET", "DEBUG"}}
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "interview_rt.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "INTERVIEW_LINK_SECRET": secrets.token_urlsafe(50),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


def test_production_security_settings() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, s.SECURE_REDIRECT_EXEMPT, s.SESSION_COOKIE_SECURE)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "INTERVIEW_LINK_SECRET", "DEBUG"}}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "interview_rt.settings.production",
            "SECRET_KEY": "s" * 50,
            "INTERVIEW_LINK_SECRET": "l" * 50,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:2] == ["31536000", "True"] and "healthz" in out.stdout


@pytest.mark.django_db
def test_api_schema_is_for_staff_only(client: object, django_user_model: object) -> None:
    from django.test import Client

    anonymous = Client()
    response = anonymous.get("/api/schema/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    staff = django_user_model.objects.create_superuser("s", "s@example.com", "pw")  # type: ignore[attr-defined]
    anonymous.force_login(staff)
    assert anonymous.get("/api/schema/?format=json").status_code == 200


LOG_PROBE = """
import logging, django
django.setup()
from interview_rt.redact import RedactSecrets
handlers = {h for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
            if isinstance(logger, logging.Logger) for h in logger.handlers}
bare = [repr(h) for h in handlers if not any(isinstance(f, RedactSecrets) for f in h.filters)]
print("BARE", bare)
token = "eyJzIjoxMjM0NTY3ODkwMTIzfQ:1tTestAbCdEfGhIjKlMnOpQrStUvWx"
logging.getLogger("django.request").warning("Method Not Allowed (POST): /api/interviews/access/%s/", token)
logging.getLogger("django.request").error("Internal Server Error: /interview/%s", token, exc_info=(
    RuntimeError, RuntimeError("boom " + token), None))
logging.getLogger("django.security.DisallowedHost").error("Invalid HTTP_HOST header for /ws/interview/%s/", token)
"""


@pytest.mark.parametrize(
    ("module", "debug"),
    [
        ("interview_rt.settings.local", "1"),
        ("interview_rt.settings.local", "0"),
        ("interview_rt.settings.production", "0"),
    ],
)
def test_every_log_handler_redacts_tokens(module: str, debug: str) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": module,
        "DEBUG": debug,
        "SECRET_KEY": "k" * 60,
        "INTERVIEW_LINK_SECRET": "l" * 60,
        "LOG_LEVEL": "DEBUG",
    }
    out = subprocess.run(
        [sys.executable, "-c", LOG_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "BARE []" in out.stdout, out.stdout
    assert "Method Not Allowed" in out.stderr and "Internal Server Error" in out.stderr, out.stderr
    assert "eyJzIjox" not in out.stderr and "1tTestAbCd" not in out.stderr and "boom" in out.stderr, out.stderr


def test_a_channel_layer_outage_is_one_log_line_not_a_traceback_per_socket() -> None:
    import logging

    from interview_rt.outages import ChannelLayerOutage

    class ConnectionError(Exception):  # redis.exceptions.ConnectionError, by name and module
        __module__ = "redis.exceptions"

    def failed(message: str, exc: BaseException) -> logging.LogRecord:
        return logging.LogRecord("daphne.server", logging.ERROR, __file__, 1, message, (), (type(exc), exc, None))

    outage = ChannelLayerOutage(window=30.0)
    wrapped = RuntimeError("during handling")
    wrapped.__context__ = ConnectionError("Error 111 connecting to 127.0.0.1:6379")
    records = [failed("Exception inside application: %s", wrapped) for _ in range(50)]
    kept = [r for r in records if outage.filter(r)]
    assert len(kept) == 1 and kept[0].exc_info is None
    assert "channel layer unavailable" in kept[0].getMessage() and "1011" in kept[0].getMessage()
    # Anything else goes through untouched, traceback and all.
    other = failed("Exception inside application: %s", ValueError("a bug"))
    assert outage.filter(other) and other.exc_info is not None
    # A later outage is reported again, with the count of what was suppressed.
    outage.started = -1e9
    again = failed("Exception inside application: %s", ConnectionError("refused"))
    assert outage.filter(again) and "49 suppressed" in again.getMessage()
    # Another logger's record is folded in only for redis-py's own error, not a builtin one (a
    # model API's refused connection is not the channel layer's).
    consumer = logging.LogRecord("consumers.candidate", logging.ERROR, __file__, 1, "unexpected", (), None)
    consumer.exc_info = (ConnectionError, ConnectionError("reset"), None)
    assert not outage.filter(consumer)
    refused = ConnectionRefusedError("model API")
    model = logging.LogRecord("ai_service.http.client", logging.ERROR, __file__, 1, "failed", (), None)
    model.exc_info = (type(refused), refused, None)
    assert outage.filter(model) and model.exc_info is not None
