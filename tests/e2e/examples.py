"""Run an example the way its README says (`python examples/<name>/app.py`), in its own process
on a loopback port, for as long as a test needs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {
    "fastapi": ROOT / "examples" / "fastapi_app" / "app.py",
    "django": ROOT / "examples" / "django_asgi" / "app.py",
}

VERIFICATION = {
    "openai": "/emulator/codex/device",
    "github": "/emulator/github/login/device",
    "xai": "/emulator/xai-auth/device?user_code=",
}
"""Where the examples' emulator sends each provider's user to type the code (after the base)."""
NAMES = {"openai": "ChatGPT", "github": "GitHub Copilot", "xai": "Grok"}
"""The providers the examples enable, in order, with the names the element shows."""


@dataclass
class Running:
    """A started example: its base URL, its process and the file its output goes to."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path


def free_port(preferred: int = 0) -> int:
    """`preferred` if it is free on loopback, else any free port."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn will
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def run_example(name: str, tmp_path: Path, preferred_port: int = 0) -> Iterator[Running]:
    """Start example `name` with its database in `tmp_path`; stop it on exit."""
    port = free_port(preferred_port)
    env = {
        **os.environ,
        "DEMO_HOST": "127.0.0.1",
        "DEMO_PORT": str(port),
        "DEMO_DB": str(tmp_path / "demo.db"),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])
        ),
    }
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603  (this repo's example, no shell)
            [sys.executable, str(EXAMPLES[name])], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    running = Running(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_up(running)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_until_up(running: Running) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            pytest.fail(f"the example exited: {running.log.read_text()}", pytrace=False)
        try:
            if httpx.get(f"{running.base}/authai/", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the example did not start in 30 s: {running.log.read_text()}", pytrace=False)
