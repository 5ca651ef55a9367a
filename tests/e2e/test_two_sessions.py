"""One account signed in on two pages (`storage="session"`: a session per tab, as the FastAPI
example has it): signing in on the second page does not sign the first one out. Both chat, both
survive a reload, and both are the same user; signing out on one leaves the other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.examples import Running, run_example
from tests.e2e.test_browser import VIEWPORT, WAIT_MS, approve_in_new_tab, assert_revoked, chat

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.e2e


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    with run_example("fastapi", tmp_path) as started:
        yield started


def sign_in(context: BrowserContext, page: Page, base: str) -> str:
    """Sign `page` in with ChatGPT through the emulator's approval page; its JWT."""
    page.goto(base)
    signin = page.locator("authai-signin")
    page.wait_for_selector('authai-signin[state="signed-out"]')
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    code = signin.locator('[part="code"]')
    code.wait_for()
    approve_in_new_tab(context, signin.locator('a[part="link"]'), code.inner_text())
    page.wait_for_selector('authai-signin[state="signed-in"]')
    jwt = page.evaluate("document.querySelector('authai-signin').getToken()")
    assert isinstance(jwt, str)
    return jwt


def user_id(base: str, jwt: str) -> str:
    who = httpx.get(f"{base}/authai/auth/whoami", headers={"Authorization": f"Bearer {jwt}"})
    assert who.status_code == 200, who.text
    user: str = who.json()["user"]["id"]
    return user


def test_two_pages_signed_in_to_one_account_both_stay_signed_in(
    browser: Browser, running: Running
) -> None:
    base = running.base
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    first, second = context.new_page(), context.new_page()
    for page in (first, second):
        page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        first_jwt = sign_in(context, first, base)
        second_jwt = sign_in(context, second, base)
        assert first_jwt != second_jwt
        assert user_id(base, first_jwt) == user_id(base, second_jwt)

        # The first page, signed in before the second, still works: on its next call and
        # after a reload (which checks the stored token with whoami).
        assert chat(first, "Still here?")
        assert chat(second, "Me too")
        first.reload()
        first.wait_for_selector('authai-signin[state="signed-in"]')
        assert chat(first, "After a reload")

        # Signing out on the second page ends only its own session.
        second.locator("authai-signin").get_by_role("button", name="Sign out").click()
        second.wait_for_selector('authai-signin[state="signed-out"]')
        assert_revoked(base, second_jwt)
        assert user_id(base, first_jwt)
        first.reload()
        first.wait_for_selector('authai-signin[state="signed-in"]')
        assert errors == []
    finally:
        context.close()
