"""Real processes on loopback: a migrated SQLite file, `create_interview`, and the server as
deployed (`python -m interview_rt.server`: daphne with a listen backlog and graceful shutdown)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> str:
    """Debian's Chromium, or: in CI a failure (the browser tests must run there), elsewhere a skip."""
    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian chromium is missing in CI (make chromium installs it as root)")
        pytest.skip("Debian chromium is not installed (make test installs it as root)")
    return CHROMIUM


# Every Content-Security-Policy violation a page reports (the DOM event and Chromium's console line).
CSP_WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def watch_csp(page: Any) -> list[str]:
    """Start recording the page's CSP violations; read them with csp_violations(page, console)."""
    console: list[str] = []
    page.add_init_script(CSP_WATCH)
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    return console


def csp_violations(page: Any, console: list[str]) -> list[str]:
    return [*page.evaluate("window.__csp || []"), *console]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


class Server:
    def __init__(self, env: dict[str, str], port: int, name: str = "daphne") -> None:
        self.env = env
        self.port = port
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None

    def manage(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    def create_staff(self, username: str, password: str, *, role: str | None = None) -> str:
        """A staff user (a superuser without `role`) and their API token."""
        code = (
            "from django.contrib.auth import get_user_model; from django.contrib.auth.models import Group; "
            "from rest_framework.authtoken.models import Token; "
            f"u = get_user_model().objects.create_user({username!r}, password={password!r}, "
            f"is_staff=True, is_superuser={role is None}); "
            + (f"u.groups.add(Group.objects.get(name={role!r})); " if role else "")
            + "print(Token.objects.create(user=u).key)"
        )
        return self.manage("shell", "--no-imports", "-c", code).strip().splitlines()[-1]

    def create_interview(self, **options: Any) -> dict[str, Any]:
        args = ["create_interview", "--json", "--candidate-name", "Grace", "--candidate-email", "g@example.com"]
        args += ["--job-title", options.pop("job_title", "Backend Engineer"), "--skills", "python,django,sql"]
        for key, value in options.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        return json.loads(self.manage(*args))

    @property
    def log_path(self) -> Path:
        return Path(self.env["E2E_DIR"]) / f"{self.name}.log"

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "interview_rt.server", "-b", "127.0.0.1", "-p", str(self.port), "-v", "0"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, self.proc)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def make(**extra_env: str) -> Server:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "interview_rt.settings.local",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.sqlite3'}",
            "E2E_DIR": str(tmp_path),
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            # These tests drive many requests from one address; rate limits have tests of their own.
            "RATE_LIMITS_ENABLED": "0",
            **extra_env,
        }
        env.pop("REDIS_URL", None) if "REDIS_URL" not in extra_env else None
        server = Server(env, free_port())
        server.manage("migrate", "--verbosity", "0")
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Real processes on a busy 2-core machine: a fresh server loads the grading model before the
    # first grade. Generous per-test bounds; the waits inside are on conditions.
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.timeout(600))
