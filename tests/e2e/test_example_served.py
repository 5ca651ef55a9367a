"""The FastAPI example served by uvicorn on loopback, driven over real HTTP as the page's
`<authai-signin>` would: load the page and the component, start, open the emulator's sign-in page,
submit the code, poll, ask the backend who we are, chat, sign out; for each provider the example
enables (the page's element, without a `provider` attribute, offers the three)."""

from __future__ import annotations

import importlib.util
import re
import socket
from pathlib import Path
from types import ModuleType

import anyio
import httpx
import pytest
import uvicorn

from tests.e2e.examples import VERIFICATION

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi_app" / "app.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("authai_example_fastapi", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def listening_socket() -> socket.socket:
    """A loopback socket already listening, so clients can connect before uvicorn accepts."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@pytest.mark.parametrize("provider", list(VERIFICATION))
async def test_sign_in_whoami_and_sign_out_over_real_http(tmp_path: Path, provider: str) -> None:
    sock = listening_socket()
    port = sock.getsockname()[1]
    app = load_example().create_app(tmp_path / "demo.db", host="127.0.0.1", port=port)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve, [sock])
            try:
                with anyio.fail_after(30):
                    await _browse(f"http://127.0.0.1:{port}", provider)
            finally:
                server.should_exit = True
    finally:
        sock.close()


async def _browse(base: str, provider: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as browser:
        page = await browser.get("/")
        assert '<script type="module" src="/authai/sdk.js"></script>' in page.text
        assert '<authai-signin storage="session" show-limits>' in page.text
        offered = (await browser.get("/authai/auth/providers")).json()["providers"]
        assert [p["id"] for p in offered] == list(VERIFICATION)
        sdk = await browser.get("/authai/sdk.js")
        assert sdk.headers["content-type"] == "text/javascript; charset=utf-8"
        assert "Sign in with ${name}" in sdk.text

        started = (await browser.post("/authai/auth/start", json={"provider": provider})).json()
        assert started["verificationUrl"].startswith(f"{base}{VERIFICATION[provider]}")
        sign_in_page = await browser.get(started["verificationUrl"])
        assert sign_in_page.status_code == 200
        action = re.search(r'<form method="post" action="([^"]+)"', sign_in_page.text)
        assert action is not None
        approved = await browser.post(
            action.group(1), data={"user_code": started["userCode"], "action": "approve"}
        )
        assert approved.status_code == 200

        with anyio.fail_after(15):
            while True:
                await anyio.sleep(started["pollIntervalMs"] / 1000)
                polled = (await browser.get(f"/authai/auth/poll/{started['sessionId']}")).json()
                if polled["status"] != "pending":
                    break
        assert polled["status"] == "complete"
        auth = {"Authorization": f"Bearer {polled['jwt']}"}

        me = await browser.get("/api/me", headers=auth)
        assert me.status_code == 200
        assert me.json()["provider"] == provider
        who = await browser.get("/authai/auth/whoami", headers=auth)
        assert who.json()["user"]["id"] == me.json()["user_id"]

        reply = await browser.post(
            "/api/chat", headers=auth, json={"messages": [{"role": "user", "content": "ping"}]}
        )
        assert reply.status_code == 200
        assert reply.text == "Echo: ping"
        usage = await browser.get("/api/usage", headers=auth)  # the page's "Today:" line
        assert usage.status_code == 200
        today = usage.json()
        assert today["requests"] == 1
        assert today["input_tokens"] > 0
        assert today["output_tokens"] > 0

        assert (await browser.post("/authai/auth/revoke", headers=auth)).status_code == 204
        assert (await browser.get("/api/me", headers=auth)).status_code == 401
