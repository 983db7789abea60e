"""The processes a run starts (daphne, helpers), their ports and environment; all stopped on exit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .config import HOST, ROOT


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM if this script dies without cleaning up (even SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Processes:
    """Every subprocess this script starts; stop_all() ends them (by pid) and is idempotent."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        logfile = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed by the child's exit
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only this script, which stops children in order
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        logfile.close()
        self.procs.append((name, proc))
        return proc

    def log_text(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @staticmethod
    def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout=5)

    def stop_all(self) -> None:
        for _name, proc in reversed(self.procs):
            self.stop(proc)
        self.procs.clear()

    async def run(self, name: str, argv: list[str], env: dict[str, str], timeout: float) -> str:
        """Run a helper to completion (tracked, so Ctrl-C stops it too); its output, or RuntimeError."""
        proc = self.start(name, argv, env)
        deadline = time.monotonic() + timeout
        try:
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} took more than {timeout:.0f}s")
                await asyncio.sleep(0.05)
        finally:
            self.stop(proc)
        out = self.log_text(name)
        if proc.returncode != 0:
            raise RuntimeError(f"{name} failed with exit code {proc.returncode}:\n{out[-3000:]}")
        return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


async def wait_for_port(port: int, proc: subprocess.Popen[bytes], name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with code {proc.returncode} before listening")
        try:
            _r, w = await asyncio.wait_for(asyncio.open_connection(HOST, port), 1)
            w.close()
            return
        except (OSError, TimeoutError):
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{name}: nothing listening on {HOST}:{port} after {timeout:.0f}s")


def base_env(db_path: Path, db_settings: str = "url") -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AI_", "BENCH_")) and k not in ("REDIS_URL", "CONN_MAX_AGE")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "interview_rt.settings.local",
            "DATABASE_URL": f"sqlite:///{db_path}",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "AI_PROVIDER": "embedded",
            # The benchmark's clients answer at once; the consent notice is a page's step, not load.
            "INTERVIEW_REQUIRE_CONSENT": "0",
            # Thousands of sockets from one address: the benchmark measures the server, not its
            # rate limits (which would refuse them, as they should).
            "RATE_LIMITS_ENABLED": "0",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    if db_settings != "url":  # A/B of the SQLite configuration (bench/settings_db.py)
        env["DJANGO_SETTINGS_MODULE"] = "bench.settings_db"
        env["BENCH_DB_VARIANT"] = db_settings
    return env


def daphne_argv(port: int, app: str) -> list[str]:
    return [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port), app]


def server_argv(port: int) -> list[str]:
    """The interview server as deployed (Procfile): daphne with a listen backlog of 1024 and
    graceful shutdown (interview_rt/server.py)."""
    return [sys.executable, "-m", "interview_rt.server", "-b", HOST, "-p", str(port), "-v", "0"]
