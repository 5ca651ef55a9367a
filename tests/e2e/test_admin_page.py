"""Each example's admin page (FastAPI, Django) in Chromium: the password form sets the host's
cookie, the page lists the signed-in users, their sessions and usage, its pause button stops model
calls (503) until resumed, its revoke button signs a user out everywhere; without the cookie
the mount's admin routes answer 403."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.examples import EXAMPLES, Running, run_example

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e

WAIT_MS = 20_000
CHAT = {"messages": [{"role": "user", "content": "ping"}]}


@pytest.fixture(params=sorted(EXAMPLES))
def example(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Running]:
    with run_example(request.param, tmp_path) as running:
        yield running


def sign_in_over_http(base: str) -> str:
    """A user signs in (as the page's element would, over HTTP) with ChatGPT; their JWT."""
    with httpx.Client(base_url=base, timeout=10) as client:
        started = client.post("/authai/auth/start", json={"provider": "openai"}).json()
        page = client.get(started["verificationUrl"]).text
        action = re.search(r'<form method="post" action="([^"]+)"', page)
        assert action is not None
        form = {"user_code": started["userCode"], "action": "approve"}
        assert client.post(action.group(1), data=form).status_code == 200
        deadline = time.monotonic() + 15
        while True:
            time.sleep(started["pollIntervalMs"] / 1000)
            polled = client.get(f"/authai/auth/poll/{started['sessionId']}").json()
            if polled["status"] != "pending" or time.monotonic() > deadline:
                break
    assert polled["status"] == "complete", polled
    jwt: str = polled["jwt"]
    return jwt


def chat_status(base: str, jwt: str) -> int:
    headers = {"Authorization": f"Bearer {jwt}"}
    return httpx.post(f"{base}/api/chat", json=CHAT, headers=headers, timeout=10).status_code


def sign_in_as_admin(page: Page, base: str) -> None:
    page.goto(f"{base}/admin")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Wrong password.").wait_for()
    page.get_by_label("Password").fill("admin")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Admin", exact=True).wait_for()


def test_admin_page_lists_users_pauses_and_revokes(example: Running, browser: Browser) -> None:
    base = example.base
    assert "password: admin" in example.log.read_text()
    first, second = sign_in_over_http(base), sign_in_over_http(base)
    user_id = httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {first}"}).json()[
        "user_id"
    ]
    assert httpx.get(f"{base}/authai/admin/users").status_code == 403  # no admin cookie
    assert chat_status(base, first) == 200  # one call, for the usage column

    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        sign_in_as_admin(page, base)
        row = page.locator(f'tr[data-user="{user_id}"]')
        row.locator("li").nth(1).wait_for()  # both sessions listed
        assert row.locator("td").nth(1).inner_text() == "openai"
        assert row.locator("td").nth(2).inner_text().startswith("2")
        usage = row.locator("td").nth(4)
        page.wait_for_function("(cell) => cell.textContent.length > 0", arg=usage.element_handle())
        assert re.fullmatch(r"1 call, [1-9][0-9]* tokens", usage.inner_text()), usage.inner_text()
        state = page.get_by_test_id("models-state")
        assert state.inner_text() == "running"

        page.get_by_role("button", name="Pause model calls").click()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=models-state]').textContent"
            " === 'paused by admin'"
        )
        assert chat_status(base, first) == 503
        page.get_by_role("button", name="Resume model calls").click()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=models-state]').textContent === 'running'"
        )
        assert chat_status(base, first) == 200

        row.get_by_role("button", name="Revoke").click()
        page.get_by_text("No one is signed in.").wait_for()
        assert chat_status(base, first) == 401
        assert chat_status(base, second) == 401
        audit = page.get_by_test_id("audit").inner_text()
        assert "admin revoke " + user_id + " (2 sessions)" in audit
        assert "admin pause models" in audit
        assert errors == []
    finally:
        context.close()
