"""Cookie mode in a real browser (headless Chromium over real HTTP on loopback): the session
cookie is stored and sent by the browser, yet `document.cookie` never shows it, and a sign-out
removes it; the same with the `<authai-signin session="cookie">` element the mount serves."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from authai_embed import MemoryStore, Secrets, StreamingASGITransport, mount_authai
from authai_embed.testing import Emulator
from tests._support.loopback import served
from tests.e2e.chromium import async_chromium, require_chromium

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

COOKIE = "__Host-authai_session"
PAGE = "<!doctype html><title>host app</title><p>host app page</p>"
ELEMENT_PAGE = (
    '<!doctype html><title>host app</title><script type="module" src="/authai/sdk.js"></script>'
    '<authai-signin session="cookie"></authai-signin>'
)

SIGN_IN_STARTS = """async () => {
  const r = await fetch('/authai/auth/start', {method: 'POST',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify({provider: 'openai'})});
  return await r.json();
}"""
POLL = """async (id) => {
  for (let i = 0; i < 40; i++) {
    const r = await fetch('/authai/auth/poll/' + id);
    const body = await r.json();
    if (body.status !== 'pending') return {status: r.status, body};
    await new Promise((ok) => setTimeout(ok, 250));
  }
  return {status: 0, body: null};
}"""
CALL = """async ([method, path]) => {
  const r = await fetch(path, {method});
  return {status: r.status, text: await r.text()};
}"""


def make_app(emulator: Emulator) -> FastAPI:
    app = FastAPI()

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE

    @app.get("/element", response_class=HTMLResponse)
    async def element_page() -> str:
        return ELEMENT_PAGE

    mount_authai(
        app,
        store=MemoryStore(),
        secrets=Secrets.generate(),
        session_cookie=True,
        openai={"issuer": emulator.issuer, "api_base": f"{emulator.issuer}/backend-api/codex"},
        http_client=httpx.AsyncClient(transport=StreamingASGITransport(emulator)),
    )
    return app


async def test_the_cookie_never_reaches_javascript() -> None:
    require_chromium()
    emulator = Emulator(issuer="http://auth.emulator.test", interval=1)
    with anyio.fail_after(60):
        async with served(make_app(emulator), lifespan="on") as base, async_chromium() as browser:
            await _browse(browser, base, emulator)


async def _browse(browser: Any, base: str, emulator: Emulator) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{base}/")

    started = await page.evaluate(SIGN_IN_STARTS)
    emulator.approve(started["userCode"])
    polled = await page.evaluate(POLL, started["sessionId"])
    assert polled == {"status": 200, "body": {"status": "complete", "session": "cookie"}}

    # The browser stored it (Secure cookies are accepted on http://127.0.0.1, a trustworthy
    # origin) with every protective attribute...
    stored = [c for c in await context.cookies() if c["name"] == COOKIE]
    assert len(stored) == 1
    assert stored[0]["httpOnly"] is True
    assert stored[0]["secure"] is True
    assert stored[0]["sameSite"] == "Strict"
    # ...and sends it, but script cannot read it.
    assert "authai_session" not in await page.evaluate("document.cookie")
    who = await page.evaluate(CALL, ["GET", "/authai/auth/whoami"])
    assert who["status"] == 200
    assert '"provider":"openai"' in who["text"]
    assert "authai_session" not in await page.evaluate("document.cookie")

    revoked = await page.evaluate(CALL, ["POST", "/authai/auth/revoke"])
    assert revoked["status"] == 204
    assert [c for c in await context.cookies() if c["name"] == COOKIE] == []
    after = await page.evaluate(CALL, ["GET", "/authai/auth/whoami"])
    assert after == {"status": 401, "text": '{"error":"unauthorized"}'}
    await context.close()


async def test_the_element_in_cookie_mode_against_the_real_mount() -> None:
    """`<authai-signin session="cookie">` (docs/browser-component.md) with the server's cookie
    mode: signed in with no token in JavaScript, restored on reload, signed out by revoke."""
    require_chromium()
    emulator = Emulator(issuer="http://auth.emulator.test", interval=1)
    with anyio.fail_after(60):
        async with served(make_app(emulator), lifespan="on") as base, async_chromium() as browser:
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(f"{base}/element")
            await page.get_by_role("button", name="Sign in with ChatGPT").click()
            # The code's span exists (empty, hidden) before /auth/start answers: wait until it
            # is shown, which happens only once the code is in it.
            code = page.locator('authai-signin [part="code"]')
            await code.wait_for()
            emulator.approve((await code.inner_text()).strip())
            await page.wait_for_selector('authai-signin[state="signed-in"]')
            token = await page.evaluate("document.querySelector('authai-signin').getToken()")
            assert token is None
            assert "authai_session" not in await page.evaluate("document.cookie")
            stored = [c for c in await context.cookies() if c["name"] == COOKIE]
            assert [c["httpOnly"] for c in stored] == [True]

            await page.reload()
            await page.wait_for_selector('authai-signin[state="signed-in"]')
            await page.get_by_role("button", name="Sign out").click()
            await page.wait_for_selector('authai-signin[state="signed-out"]')
            for _ in range(50):  # the revoke is fire-and-forget
                if not [c for c in await context.cookies() if c["name"] == COOKIE]:
                    break
                await anyio.sleep(0.1)
            assert [c for c in await context.cookies() if c["name"] == COOKIE] == []
            await context.close()
