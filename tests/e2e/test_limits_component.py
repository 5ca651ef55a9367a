"""`<authai-signin show-limits>`: after sign-in the element asks `/auth/limits` and lists the
plan's windows ("5h window: 12% used, resets 14:00"); off by default. Against a fake mount
(shapes, text never parsed as HTML) and the FastAPI example's real mount and emulator."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.chromium import watched_page
from tests.e2e.examples import Running, run_example
from tests.e2e.test_browser import VIEWPORT
from tests.e2e.test_component import JWT, ORIGIN, WAIT_MS, FakeMount, open_page
from tests.e2e.test_two_sessions import sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e

LIMITS = '[part="limits"]'
HOUR = 3600


def chatgpt_limits(primary: float, resets_in: int) -> dict[str, Any]:
    now = int(time.time())
    window = {"entitlement": None, "remaining": None, "unlimited": False}
    return {
        "provider": "openai",
        "plan": "plus",
        "source": "usage_endpoint",
        "fetchedAt": now,
        "windows": [
            {
                "name": "primary",
                "usedPercent": primary,
                "windowMinutes": 300,
                "resetsAt": now + resets_in,
                "limitReached": primary >= 100,
                **window,
            },
            {
                "name": "secondary",
                "usedPercent": 4.0,
                "windowMinutes": 10080,
                "resetsAt": now + 4 * 24 * HOUR,
                "limitReached": False,
                **window,
            },
        ],
        "credits": None,
        "premiumRequests": None,
    }


@pytest.fixture
def mount() -> FakeMount:
    fake = FakeMount(element='<authai-signin provider="openai" show-limits></authai-signin>')
    fake.started()
    fake.polls = [{"status": "complete", "jwt": JWT}]
    return fake


@pytest.fixture
def page(browser: Browser, mount: FakeMount) -> Iterator[Page]:
    with watched_page(browser, WAIT_MS, f"{ORIGIN}/**", mount.handle) as opened:
        yield opened


def lines(page: Page) -> list[str]:
    found: list[str] = page.locator(f"authai-signin {LIMITS} li").all_inner_texts()
    return found


def sign_in_on(page: Page) -> None:
    open_page(page)
    page.evaluate(
        "document.addEventListener('authai:limits', (e) => (window.limitsSeen = e.detail))"
    )
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    page.wait_for_selector('authai-signin[state="signed-in"]')


def test_limits_are_off_by_default(page: Page, mount: FakeMount) -> None:
    mount.element = '<authai-signin provider="openai"></authai-signin>'
    mount.limits = chatgpt_limits(42.0, 2 * HOUR)
    sign_in_on(page)
    page.wait_for_timeout(200)
    assert mount.calls("/auth/limits") == []
    assert page.locator(f"authai-signin {LIMITS}").is_hidden()


def test_show_limits_lists_the_windows_after_sign_in(page: Page, mount: FakeMount) -> None:
    mount.limits = chatgpt_limits(42.4, 2 * HOUR)
    sign_in_on(page)
    page.locator(f"authai-signin {LIMITS} li").first.wait_for()
    shown = lines(page)
    assert len(shown) == 2
    assert shown[0].startswith("5h window: 42% used, resets ")
    assert shown[1].startswith("Weekly window: 4% used, resets ")
    assert mount.calls("/auth/limits") == [("GET", "/authai/auth/limits", f"Bearer {JWT}")]
    limits = page.evaluate("document.querySelector('authai-signin').limits")
    assert limits["windows"][0]["usedPercent"] == 42.4
    seen = page.evaluate("window.limitsSeen")
    assert seen["limits"]["plan"] == "plus"

    # Signing out hides and forgets them.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector('authai-signin[state="signed-out"]')
    assert page.locator(f"authai-signin {LIMITS}").is_hidden()
    assert page.evaluate("document.querySelector('authai-signin').limits") is None


def test_copilot_quotas_and_unreported_limits_read_as_text(page: Page, mount: FakeMount) -> None:
    resets = int(time.time()) + 20 * 24 * HOUR
    mount.limits = {
        "provider": "github",
        "plan": "individual",
        "source": "usage_endpoint",
        "windows": [
            {
                "name": "chat",
                "usedPercent": None,
                "windowMinutes": None,
                "resetsAt": resets,
                "unlimited": True,
                "entitlement": None,
                "remaining": None,
            },
            {
                "name": "premium_interactions",
                "usedPercent": 0.7,
                "windowMinutes": None,
                "resetsAt": resets,
                "unlimited": False,
                "entitlement": 300,
                "remaining": 298,
            },
            {
                "name": '<img src=x onerror="window.pwned=1">',
                "usedPercent": 5,
                "windowMinutes": None,
                "resetsAt": None,
                "unlimited": False,
            },
        ],
    }
    sign_in_on(page)
    page.locator(f"authai-signin {LIMITS} li").first.wait_for()
    shown = lines(page)
    assert shown[0] == "Chat: unlimited"
    assert shown[1].startswith("Premium requests: 298 of 300 left, resets ")
    assert shown[2] == '<img src=x onerror="window.pwned=1">: 5% used'
    assert page.evaluate("window.pwned") is None

    # Turned on later, or for a provider that reports nothing.
    mount.limits = {"provider": "xai", "source": "not_reported", "windows": []}
    page.evaluate("document.querySelector('authai-signin').refreshLimits()")
    page.wait_for_function(
        "document.querySelector('authai-signin').limits?.source === 'not_reported'"
    )
    assert lines(page) == ["Plan limits: not reported by the provider"]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    with run_example("fastapi", tmp_path) as started:
        yield started


def test_the_real_mount_shows_the_emulators_windows(browser: Browser, running: Running) -> None:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        sign_in(context, page, running.base)
        # The example page asks for them (`show-limits`): shown once signed in, nothing to do.
        page.locator(f"authai-signin {LIMITS} li").first.wait_for()
        shown = lines(page)
        # The emulator's defaults: 12% of the 5-hour window, 4% of the week.
        assert shown[0].startswith("5h window: 12% used, resets ")
        assert shown[1].startswith("Weekly window: 4% used, resets ")
        page.evaluate("document.querySelector('authai-signin').removeAttribute('show-limits')")
        assert page.locator(f"authai-signin {LIMITS}").is_hidden()
        assert errors == []
    finally:
        context.close()
