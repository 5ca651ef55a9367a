"""Each example (FastAPI, Django) run as its README says, in its own process, driven by a real
Chromium: sign in with `<authai-signin>` through the emulator's approval page, send a message,
watch the streamed reply, sign out, reload, be signed out. Screenshots of each state go to
tmp_path (and to docs/images with AUTHAI_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.chromium import SCREENSHOTS_ENV, Screenshots

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {"fastapi": ROOT / "examples" / "fastapi_app" / "app.py"}
EXAMPLES["django"] = ROOT / "examples" / "django_asgi" / "app.py"
VIEWPORT = {"width": 760, "height": 520}
WAIT_MS = 20_000


@dataclass
class Running:
    base: str
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    """A free loopback port; 8000 (the README's) when refreshing the docs' screenshots."""
    preferred = 8000 if os.environ.get(SCREENSHOTS_ENV) == "1" else 0
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn will
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(params=sorted(EXAMPLES))
def example(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Running]]:
    """The example started with its one command (`python examples/<name>/app.py`)."""
    name: str = request.param
    port = free_port()
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
        wait_until_up(running)
        yield name, running
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def wait_until_up(running: Running) -> None:
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


def test_sign_in_chat_sign_out_in_chromium(
    browser: Browser, example: tuple[str, Running], tmp_path: Path
) -> None:
    name, running = example
    shots = Screenshots(tmp_path, name)
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(running.base)
        signin = page.locator("authai-signin")
        page.wait_for_selector('authai-signin[state="signed-out"]')
        assert page.locator("#chat").is_hidden()
        shots.take(page, "1-signed-out")

        # Sign in: the component shows the code and the emulator's page as a link.
        page.get_by_role("button", name="Sign in with ChatGPT").click()
        code = signin.locator('[part="code"]')
        code.wait_for()
        user_code = code.inner_text()
        assert len(user_code) >= 8
        link = signin.locator('a[part="link"]')
        assert link.get_attribute("href") == f"{running.base}/emulator/codex/device"
        assert link.get_attribute("rel") == "noopener noreferrer"
        shots.take(page, "2-code")

        # Follow the link (a new tab), type the code, approve.
        with context.expect_page() as opened:
            link.click()
        approval = opened.value
        approval.wait_for_load_state()
        approval.set_viewport_size(VIEWPORT)  # type: ignore[arg-type]
        approval.get_by_label("Code").fill(user_code)
        shots.take(approval, "3-approve")
        approval.get_by_role("button", name="Approve").click()
        approval.get_by_role("heading", name="Signed in").wait_for()
        approval.close()

        # The component, still polling, becomes signed in; the page shows the chat.
        page.wait_for_selector('authai-signin[state="signed-in"]')
        assert signin.get_by_text("Signed in with ChatGPT").is_visible()
        page.wait_for_function("document.getElementById('user-id').textContent.length > 8")
        jwt = page.evaluate("document.querySelector('authai-signin').getToken()")
        assert isinstance(jwt, str)
        assert jwt.count(".") == 2
        assert stored(page) == {"authai:jwt": jwt}
        shots.take(page, "4-signed-in")

        # Chat: the backend streams the model's reply, rendered as text.
        prompt = "Hello from the browser!"
        page.get_by_placeholder("Ask something").fill(prompt)
        page.evaluate(
            """() => {
              window.replies = [];
              const reply = document.getElementById("reply");
              new MutationObserver(() => window.replies.push(reply.textContent))
                .observe(reply, {childList: true, characterData: true, subtree: true});
            }"""
        )
        page.get_by_role("button", name="Send").click()
        page.wait_for_function(
            "(want) => document.getElementById('reply').textContent === want", arg=f"Echo: {prompt}"
        )
        # It arrived in pieces, each a prefix of the whole: streamed, not sent at the end.
        pieces = [p for p in page.evaluate("window.replies") if p]
        assert len(pieces) > 1
        assert all(f"Echo: {prompt}".startswith(piece) for piece in pieces)
        shots.take(page, "5-reply")

        # Sign out: the page forgets the token, the server revokes it; a reload stays signed out.
        signin.get_by_role("button", name="Sign out").click()
        page.wait_for_selector('authai-signin[state="signed-out"]')
        assert page.locator("#chat").is_hidden()
        assert stored(page) == {}
        assert_revoked(running.base, jwt)
        page.reload()
        page.wait_for_selector('authai-signin[state="signed-out"]')
        assert page.locator("#chat").is_hidden()
        assert page.evaluate("document.querySelector('authai-signin').getToken()") is None
        shots.take(page, "6-signed-out-after-reload")
        assert errors == []
    finally:
        context.close()
    assert all(path.stat().st_size > 1000 for path in shots.taken)


def stored(page: Page) -> dict[str, str]:
    """Everything the page keeps in sessionStorage and localStorage."""
    items: dict[str, str] = page.evaluate(
        "() => Object.fromEntries([...Object.entries(sessionStorage),"
        " ...Object.entries(localStorage)])"
    )
    return items


def assert_revoked(base: str, jwt: str) -> None:
    """The fire-and-forget revoke has reached the server: the JWT no longer works."""
    deadline = time.monotonic() + 10
    while True:
        who = httpx.get(f"{base}/authai/auth/whoami", headers={"Authorization": f"Bearer {jwt}"})
        if who.status_code == 401:
            return
        assert time.monotonic() < deadline, "the session was not revoked"
        time.sleep(0.1)
