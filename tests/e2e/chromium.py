"""Debian's Chromium driven by Playwright for Python, and the rule for when it is not there:
skip with the reason, unless `AUTHAI_REQUIRE_SERVICES` is set (CI), then fail."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tests._support.services import unavailable

if TYPE_CHECKING:
    from playwright.async_api import Browser as AsyncBrowser
    from playwright.sync_api import Browser, Locator, Page, Route

CHROMIUM = os.environ.get("AUTHAI_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS_ENV = "AUTHAI_UPDATE_SCREENSHOTS"
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def require_chromium() -> None:
    """Return if Playwright and the Chromium binary are there; otherwise skip, or fail when
    `AUTHAI_REQUIRE_SERVICES` is set."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        reason = f"Playwright for Python is not installed ({exc})"
    else:
        if os.access(CHROMIUM, os.X_OK):
            return
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    unavailable(reason)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the duration of the block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def watched_page(
    browser: Browser, timeout_ms: float, pattern: str, route: Callable[[Route], None]
) -> Iterator[Page]:
    """A page in a fresh context whose requests matching `pattern` go to `route`; the test
    fails if a script on the page threw an uncaught error."""
    context = browser.new_context()
    context.set_default_timeout(timeout_ms)
    context.route(pattern, route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert errors == []


@asynccontextmanager
async def async_chromium() -> AsyncIterator[AsyncBrowser]:
    """A headless Chromium driven by Playwright's async API, for tests that serve the app in
    their own event loop."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


class Screenshots:
    """Where screenshots go: always `directory` (a test's tmp_path), and `docs/images` too when
    `AUTHAI_UPDATE_SCREENSHOTS=1` (to refresh the ones the docs show)."""

    def __init__(self, directory: Path, prefix: str) -> None:
        self.directory = directory
        self.prefix = prefix
        self.taken: list[Path] = []

    def targets(self, name: str) -> list[Path]:
        filename = f"{self.prefix}-{name}.png"
        paths = [self.directory / filename]
        if os.environ.get(SCREENSHOTS_ENV) == "1":
            DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
            paths.append(DOCS_IMAGES / filename)
        return paths

    def take(self, shoot: Page | Locator, name: str) -> None:
        """Screenshot a whole page (its viewport) or one element."""
        for path in self.targets(name):
            shoot.screenshot(path=str(path))
            self.taken.append(path)
