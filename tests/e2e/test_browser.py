"""Each example (FastAPI, Django) run as its README says, in its own process, driven by a real
Chromium: sign in with `<authai-signin>` through the emulator's approval page, send a message,
watch the streamed reply, sign out, reload, be signed out. Screenshots of each state go to
tmp_path (and to docs/images with AUTHAI_UPDATE_SCREENSHOTS=1). The element offers the three
providers the examples enable; the FastAPI example is also signed in with GitHub Copilot and
with Grok through the emulator's pages for them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.chromium import SCREENSHOTS_ENV, Screenshots
from tests.e2e.examples import EXAMPLES, NAMES, VERIFICATION, Running, run_example

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page

pytestmark = pytest.mark.e2e

VIEWPORT = {"width": 760, "height": 520}
WAIT_MS = 20_000


@pytest.fixture(params=sorted(EXAMPLES))
def example(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Running]]:
    """Each example, started with its one command, on port 8000 when refreshing the docs'
    screenshots (their links then read as in the READMEs), else on a free port."""
    name: str = request.param
    port = 8000 if os.environ.get(SCREENSHOTS_ENV) == "1" else 0
    with run_example(name, tmp_path, port) as running:
        yield name, running


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
        # No provider attribute: one button per provider the example enables.
        assert sign_in_buttons(signin).all_inner_texts() == [
            f"Sign in with {n}" for n in NAMES.values()
        ]
        shots.take(page, "1-signed-out")
        if name == "fastapi":
            shots.take(signin, "providers")

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

        # Chat: the backend streams the model's reply, rendered as text, in pieces.
        pieces = chat(page, "Hello from the browser!")
        assert len(pieces) > 1
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


@pytest.fixture
def fastapi_example(tmp_path: Path) -> Iterator[Running]:
    with run_example("fastapi", tmp_path) as running:
        yield running


@pytest.mark.parametrize("provider", ["github", "xai"])
def test_the_fastapi_example_with_copilot_and_grok(
    browser: Browser, fastapi_example: Running, provider: str
) -> None:
    """The same flow with the other two buttons: each provider's own approval page and model."""
    running = fastapi_example
    name = NAMES[provider]
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(running.base)
        signin = page.locator("authai-signin")
        page.wait_for_selector('authai-signin[state="signed-out"]')
        with page.expect_request(f"{running.base}/authai/auth/start") as sent:
            page.get_by_role("button", name=f"Sign in with {name}").click()
        assert sent.value.post_data_json == {"provider": provider}
        code = signin.locator('[part="code"]')
        code.wait_for()
        user_code = code.inner_text()
        link = signin.locator('a[part="link"]')
        href = link.get_attribute("href")
        assert href is not None
        assert href.startswith(f"{running.base}{VERIFICATION[provider]}")

        approve_in_new_tab(context, link, user_code)

        page.wait_for_selector('authai-signin[state="signed-in"]')
        assert signin.locator('[part="user"]').inner_text() == f"Signed in with {name}"
        page.wait_for_function("document.getElementById('user-id').textContent.length > 8")
        jwt = page.evaluate("document.querySelector('authai-signin').getToken()")
        assert isinstance(jwt, str)
        me = httpx.get(f"{running.base}/api/me", headers={"Authorization": f"Bearer {jwt}"})
        assert me.json()["provider"] == provider

        pieces = chat(page, f"Hello {name}!")
        assert len(pieces) > 1

        signin.get_by_role("button", name="Sign out").click()
        page.wait_for_selector('authai-signin[state="signed-out"]')
        assert page.locator("#chat").is_hidden()
        assert stored(page) == {}
        assert_revoked(running.base, jwt)
        assert sign_in_buttons(signin).count() == len(NAMES)
        assert errors == []
    finally:
        context.close()


def sign_in_buttons(signin: Locator) -> Locator:
    """The element's provider buttons (it has no `provider` attribute in the examples)."""
    return signin.locator('[part="providers"] button')


def approve_in_new_tab(context: BrowserContext, link: Locator, user_code: str) -> None:
    """Follow the element's link (a new tab), type the code, approve, close the tab."""
    with context.expect_page() as opened:
        link.click()
    approval = opened.value
    approval.wait_for_load_state()
    approval.set_viewport_size(VIEWPORT)  # type: ignore[arg-type]
    approval.get_by_label("Code").fill(user_code)
    approval.get_by_role("button", name="Approve").click()
    approval.get_by_role("heading", name="Signed in").wait_for()
    approval.close()


def chat(page: Page, prompt: str) -> list[str]:
    """Send `prompt`, wait for the emulator's echo; the reply's successive texts, each a prefix
    of the whole (streamed, not sent at the end)."""
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
    want = f"Echo: {prompt}"
    page.wait_for_function(
        "(want) => document.getElementById('reply').textContent === want", arg=want
    )
    pieces = [p for p in page.evaluate("window.replies") if p]
    assert all(want.startswith(piece) for piece in pieces)
    return pieces


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
