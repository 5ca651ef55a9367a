"""`authai-embed serve` in a child process on a free loopback port, and a sign-in through its
emulator the way a person would (approve the code on the emulator's device page)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests._support.services import unavailable

ROOT = Path(__file__).resolve().parents[2]
NODE_CLIENT = ROOT / "tests" / "standalone" / "node_client"
READY_TIMEOUT = 30.0
EXIT_TIMEOUT = 30.0


@dataclass
class Served:
    """A running `authai-embed serve`: its base URL and its process."""

    base_url: str
    process: subprocess.Popen[str]

    def terminate(self) -> None:
        """Send SIGTERM (a graceful shutdown), as systemd, Docker and Kubernetes do."""
        self.process.send_signal(signal.SIGTERM)

    def stop(self) -> str:
        """SIGTERM, wait for the exit, and return what the server wrote to stderr; fail the
        test unless it went through uvicorn's graceful shutdown (killed after `EXIT_TIMEOUT`)."""
        self.terminate()
        try:
            self.process.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"serve still ran {EXIT_TIMEOUT:.0f} s after SIGTERM; killed")
        err = self.process.stderr.read() if self.process.stderr else ""
        # uvicorn re-raises the signal once shut down, so the status is "killed by SIGTERM".
        assert self.process.returncode in (0, -signal.SIGTERM), err
        assert "Application shutdown complete" in err, err
        return err


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment for a child: ours without any `AUTH_AI_*`, this checkout first on the
    path, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTH_AI_")}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p
    )
    env.update(extra)
    return env


def run_serve(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`authai-embed serve args` to completion (for the configuration errors)."""
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "authai_embed.cli", "serve", *args],
        env=child_env(env or {}),
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT,
        check=False,
    )


@contextmanager
def serving(*args: str, env: Mapping[str, str] | None = None) -> Iterator[Served]:
    """`authai-embed serve --port <free> args` until the block ends, then SIGTERM."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "authai_embed.cli", "serve", "--port", str(port), *args],
        env=child_env(env or {}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served(f"http://127.0.0.1:{port}", process)
    try:
        _wait_ready(served)
        yield served
    finally:
        if process.poll() is None:
            served.stop()
        if process.stderr is not None:
            process.stderr.close()


def _wait_ready(served: Served) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            err = served.process.stderr.read() if served.process.stderr else ""
            pytest.fail(f"serve exited with {served.process.returncode}: {err}")
        try:
            if httpx.get(served.base_url + "/", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"serve did not answer GET / within {READY_TIMEOUT:.0f} s")


def sign_in(base_url: str) -> str:
    """Start a ChatGPT sign-in, approve its code on the emulator's device page, poll until the
    JWT comes; the JWT."""
    with httpx.Client(base_url=base_url, timeout=10.0) as http:
        started = http.post("/auth/start", json={"provider": "openai"}).json()
        page = started["verificationUrl"]
        approved = http.post(page, data={"user_code": started["userCode"], "action": "approve"})
        assert approved.status_code == 200, approved.text
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            polled = http.get(f"/auth/poll/{started['sessionId']}").json()
            if polled["status"] == "complete":
                jwt: str = polled["jwt"]
                return jwt
            assert polled["status"] == "pending", polled
            time.sleep(started["pollIntervalMs"] / 1000)
    pytest.fail("the sign-in did not complete")


def require_node_client() -> str:
    """The `node` binary, once `npm ci` has run in tests/standalone/node_client; otherwise skip,
    or fail when `AUTHAI_REQUIRE_SERVICES` is set (CI)."""
    node = shutil.which("node")
    if node is None:
        reason = "node is not installed"
    elif not (NODE_CLIENT / "node_modules" / "openai" / "package.json").is_file():
        reason = f"the openai npm package is not installed: run `npm ci` in {NODE_CLIENT}"
    else:
        return node
    unavailable(reason)
