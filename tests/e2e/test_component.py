"""`<authai-signin>` alone in Chromium, against a fake mount (Playwright answers its requests):
the verification-link rule, text never parsed as HTML, denial and expiry messages, polling,
storage, restore on load, sign-out that revokes, cookie mode and the mount it derives."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.chromium import Screenshots, watched_page

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

pytestmark = pytest.mark.e2e

ORIGIN = "http://app.test"
SDK = files("authai_embed").joinpath("web", "authai-signin.js").read_bytes()
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJwcm92Ijoib3BlbmFpIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2ln"  # exp 2100
WHO = {"user": {"id": "user-1", "provider": "openai"}, "session": {"expires": 4102444800}}
WAIT_MS = 10_000


@dataclass
class FakeMount:
    """Answers the component's requests at `{ORIGIN}{mount}` and records them."""

    mount: str = "/authai"
    element: str = '<authai-signin provider="openai"></authai-signin>'
    start: dict[str, Any] = field(default_factory=dict)
    polls: list[dict[str, Any]] = field(default_factory=lambda: [{"status": "pending"}])
    whoami_status: int = 200
    who: dict[str, Any] = field(default_factory=lambda: WHO)
    providers: dict[str, Any] | None = None  # the /auth/providers answer; None: 404
    limits: dict[str, Any] | None = None  # the /auth/limits answer; None: 401
    csp: str | None = None
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)

    def started(self, **overrides: Any) -> None:
        self.start = {
            "sessionId": "s1",
            "provider": "openai",
            "userCode": "ABCD-EFGH2",
            "verificationUrl": "https://auth.openai.com/codex/device",
            "expiresInMs": 60_000,
            "pollIntervalMs": 1000,
            **overrides,
        }

    def handle(self, route: Route) -> None:
        request = route.request
        path = request.url.removeprefix(ORIGIN).split("?", 1)[0]
        self.requests.append((request.method, path, request.headers.get("authorization")))
        if path == "/":
            page = (
                f'<!doctype html><script type="module" src="{self.mount}/sdk.js"></script>'
                "<style>body { font: 16px/1.5 system-ui, sans-serif; margin: 16px; "
                "max-width: 560px }</style>"
            )
            headers = {"content-security-policy": self.csp} if self.csp else {}
            route.fulfill(body=page + self.element, content_type="text/html", headers=headers)
        elif path == f"{self.mount}/sdk.js":
            route.fulfill(body=SDK, content_type="text/javascript; charset=utf-8")
        elif path == f"{self.mount}/auth/start":
            route.fulfill(json=self.start)
        elif path.startswith(f"{self.mount}/auth/poll/"):
            answer = self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]
            route.fulfill(json=answer)
        elif path == f"{self.mount}/auth/whoami":
            ok = self.whoami_status == 200
            body = self.who if ok else {"error": "unauthorized"}
            route.fulfill(status=self.whoami_status, json=body)
        elif path == f"{self.mount}/auth/providers" and self.providers is not None:
            route.fulfill(json=self.providers)
        elif path == f"{self.mount}/auth/limits":
            ok = self.limits is not None
            route.fulfill(status=200 if ok else 401, json=self.limits or {"error": "unauthorized"})
        elif path == f"{self.mount}/auth/revoke":
            route.fulfill(status=204, body=b"")
        else:
            route.fulfill(status=404, json={"error": "not found"})

    def calls(self, suffix: str) -> list[tuple[str, str, str | None]]:
        return [r for r in self.requests if r[1].endswith(suffix)]


@pytest.fixture
def mount() -> FakeMount:
    fake = FakeMount()
    fake.started()
    return fake


@pytest.fixture
def page(browser: Browser, mount: FakeMount) -> Iterator[Page]:
    with watched_page(browser, WAIT_MS, f"{ORIGIN}/**", mount.handle) as page:
        yield page


def open_page(page: Page, state: str = "signed-out") -> None:
    page.goto(f"{ORIGIN}/")
    page.wait_for_selector(f'authai-signin[state="{state}"]')
    page.evaluate(
        """() => {
          window.seen = [];
          for (const type of ["authai:signed-in", "authai:signed-out", "authai:error"]) {
            document.addEventListener(type, (e) => window.seen.push({type, detail: e.detail}));
          }
        }"""
    )


def events(page: Page) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = page.evaluate("window.seen")
    return seen


def eventually(page: Page, done: Callable[[], bool]) -> None:
    """Let the page run (and the fake mount answer) until `done()`, for up to WAIT_MS."""
    for _ in range(WAIT_MS // 50):
        if done():
            return
        page.wait_for_timeout(50)
    raise AssertionError("the page did not get there in time")


def message(page: Page) -> str:
    text: str = page.locator('authai-signin [part="message"]').inner_text()
    return text


def stored(page: Page) -> dict[str, str]:
    items: dict[str, str] = page.evaluate(
        "() => Object.fromEntries([...Object.entries(sessionStorage),"
        " ...Object.entries(localStorage)])"
    )
    return items


RULE_CASES = [
    ("openai", "https://auth.openai.com/codex/device", [], True),
    ("openai", "https://chatgpt.com/device", [], True),
    ("github", "https://github.com/login/device", [], True),
    ("xai", "https://auth.x.ai/device", [], True),
    ("xai", "https://accounts.x.ai/device", [], True),
    ("xai", "https://x.ai/device", [], True),
    ("openai", "http://auth.openai.com/codex/device", [], False),
    ("openai", "https://auth.openai.com:8443/codex/device", [], False),
    ("openai", "https://auth.openai.com.evil.test/codex/device", [], False),
    ("openai", "https://evil.test/auth.openai.com", [], False),
    ("openai", "https://user:pw@auth.openai.com/codex/device", [], False),
    ("openai", "https://github.com/login/device", [], False),
    ("github", "https://auth.openai.com/codex/device", [], False),
    ("github", "https://auth.x.ai/device", [], False),
    ("xai", "https://auth.x.ai.evil.test/device", [], False),
    ("openai", "javascript:alert(1)", [], False),
    ("openai", "data:text/html,hi", ["null"], False),
    ("openai", "not a url", [], False),
    ("chatgpt", "https://auth.openai.com/codex/device", [], True),
    ("Copilot", "https://github.com/login/device", [], True),
    ("openai", "http://127.0.0.1:8000/emulator/codex/device", [], False),
    ("openai", "http://127.0.0.1:8000/emulator/codex/device", ["http://127.0.0.1:8000"], True),
    ("openai", "http://127.0.0.1:8001/emulator/codex/device", ["http://127.0.0.1:8000"], False),
    ("openai", "https://127.0.0.1:8000/emulator/codex/device", ["http://127.0.0.1:8000"], False),
]


def test_the_verification_link_rule(page: Page) -> None:
    open_page(page)
    verdicts = page.evaluate(
        """async (cases) => {
          const sdk = await import("/authai/sdk.js");
          return cases.map(([p, url, extra]) => sdk.isAllowedVerificationUrl(url, p, extra));
        }""",
        [case[:3] for case in RULE_CASES],
    )
    assert verdicts == [case[3] for case in RULE_CASES]


def test_an_allowed_link_is_a_link_and_the_code_is_text(page: Page, mount: FakeMount) -> None:
    mount.started(userCode='<img src=x onerror="window.pwned=1">')
    open_page(page)
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    link = page.locator('authai-signin a[part="link"]')
    link.wait_for()
    assert link.get_attribute("href") == "https://auth.openai.com/codex/device"
    assert link.get_attribute("target") == "_blank"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert page.locator('authai-signin [part="link-text"]').is_hidden()
    code = page.locator('authai-signin [part="code"]')
    assert code.inner_text() == '<img src=x onerror="window.pwned=1">'
    assert page.locator("authai-signin img").count() == 0
    assert page.evaluate("window.pwned") is None
    assert message(page) == ""


@pytest.mark.parametrize(
    "url",
    [
        "http://auth.openai.com/codex/device",
        "https://evil.test/codex/device",
        "javascript:alert(document.domain)",
        "http://127.0.0.1:8000/emulator/codex/device",
    ],
)
def test_a_link_off_the_provider_is_only_text(
    page: Page, mount: FakeMount, url: str, tmp_path: Path
) -> None:
    mount.started(verificationUrl=url)
    open_page(page)
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    text = page.locator('authai-signin [part="link-text"]')
    text.wait_for()
    assert text.inner_text() == url
    assert page.locator('authai-signin a[part="link"]').is_hidden()
    assert page.locator("authai-signin a[href]").count() == 0
    assert "not on the provider's own site" in message(page)
    assert [e["detail"]["code"] for e in events(page)] == ["verification_host"]
    page.locator('authai-signin [part="link-text"]').click()
    assert len(page.context.pages) == 1
    if url.startswith("https://evil"):
        Screenshots(tmp_path, "component").take(page.locator("authai-signin"), "untrusted-link")


THEME = """
authai-signin {
  --authai-accent: #6d28d9;
  --authai-radius: 16px;
  --authai-background: #faf5ff;
  --authai-border-color: #c4b5fd;
}
authai-signin::part(code) { background: #ede9fe; color: #4c1d95; }
authai-signin::part(copy-button) { border-color: #6d28d9; }
"""


def test_styling_through_custom_properties_and_parts(
    page: Page, mount: FakeMount, tmp_path: Path
) -> None:
    mount.element = f"<style>{THEME}</style><authai-signin></authai-signin>"
    open_page(page)
    button = page.get_by_role("button", name="Sign in with ChatGPT")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(109, 40, 217)"
    button.click()
    code = page.locator('authai-signin [part="code"]')
    code.wait_for()
    assert code.evaluate("c => getComputedStyle(c).color") == "rgb(76, 29, 149)"
    box = page.locator('authai-signin [part="container"]')
    assert box.evaluate("b => getComputedStyle(b).borderTopLeftRadius") == "16px"
    Screenshots(tmp_path, "component").take(page.locator("authai-signin"), "themed")


def test_styles_apply_under_a_strict_content_security_policy(page: Page, mount: FakeMount) -> None:
    mount.csp = "default-src 'self'; script-src 'self'; style-src 'self'"
    open_page(page)
    button = page.get_by_role("button", name="Sign in with ChatGPT")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(16, 163, 127)"


def test_keyboard_focus_follows_the_views(page: Page, mount: FakeMount) -> None:
    mount.polls = [{"status": "pending"}, {"status": "complete", "jwt": JWT}]
    open_page(page)
    focused = "() => document.querySelector('authai-signin').shadowRoot.activeElement?.part.value"
    page.keyboard.press("Tab")
    assert page.evaluate(focused) == "button sign-in-button"
    page.keyboard.press("Enter")
    page.wait_for_selector('authai-signin[state="pending"]')
    assert page.evaluate(focused) == "link"
    page.wait_for_selector('authai-signin[state="signed-in"]')
    assert page.evaluate(focused) == "button sign-out-button"
    page.keyboard.press("Enter")
    page.wait_for_selector('authai-signin[state="signed-out"]')
    assert page.evaluate(focused) == "button sign-in-button"


def test_provider_aliases_are_understood(page: Page, mount: FakeMount) -> None:
    mount.element = '<authai-signin provider="ChatGPT"></authai-signin>'
    open_page(page)
    with page.expect_request(f"{ORIGIN}/authai/auth/start") as sent:
        page.get_by_role("button", name="Sign in with ChatGPT").click()
    assert json.loads(sent.value.post_data or "") == {"provider": "openai"}
    link = page.locator('authai-signin a[part="link"]')
    link.wait_for()
    assert link.get_attribute("href") == "https://auth.openai.com/codex/device"


def test_the_host_can_allow_the_emulator_origin(page: Page, mount: FakeMount) -> None:
    mount.element = (
        '<authai-signin provider="openai" allow-verification-origin="http://127.0.0.1:8000">'
        "</authai-signin>"
    )
    mount.started(verificationUrl="http://127.0.0.1:8000/emulator/codex/device")
    open_page(page)
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    link = page.locator('authai-signin a[part="link"]')
    link.wait_for()
    assert link.get_attribute("href") == "http://127.0.0.1:8000/emulator/codex/device"


def test_sign_in_stores_only_the_jwt_and_sign_out_revokes(page: Page, mount: FakeMount) -> None:
    mount.polls = [{"status": "pending"}, {"status": "complete", "jwt": JWT}]
    open_page(page)
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    page.wait_for_selector('authai-signin[state="signed-in"]')
    assert stored(page) == {"authai:jwt": JWT}
    assert page.evaluate("document.querySelector('authai-signin').getToken()") == JWT
    assert page.evaluate("document.querySelector('authai-signin').user") == WHO["user"]
    assert events(page) == [
        {
            "type": "authai:signed-in",
            "detail": {"jwt": JWT, "user": WHO["user"], "expires": 4102444800},
        }
    ]
    assert len(mount.calls("/auth/poll/s1")) == 2
    assert mount.calls("/auth/whoami") == [("GET", "/authai/auth/whoami", f"Bearer {JWT}")]

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector('authai-signin[state="signed-out"]')
    assert stored(page) == {}
    assert page.evaluate("document.querySelector('authai-signin').getToken()") is None
    assert events(page)[-1] == {"type": "authai:signed-out", "detail": {}}
    eventually(page, lambda: bool(mount.calls("/auth/revoke")))
    assert mount.calls("/auth/revoke") == [("POST", "/authai/auth/revoke", f"Bearer {JWT}")]


def test_local_storage_follows_other_tabs(page: Page, mount: FakeMount) -> None:
    mount.element = '<authai-signin storage="local"></authai-signin>'
    mount.polls = [{"status": "complete", "jwt": JWT}]
    open_page(page)
    other = page.context.new_page()
    other.goto(f"{ORIGIN}/")
    other.wait_for_selector('authai-signin[state="signed-out"]')
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    page.wait_for_selector('authai-signin[state="signed-in"]')
    other.wait_for_selector('authai-signin[state="signed-in"]')
    other.get_by_role("button", name="Sign out").click()
    page.wait_for_selector('authai-signin[state="signed-out"]')
    assert [e["type"] for e in events(page)] == ["authai:signed-in", "authai:signed-out"]
    eventually(page, lambda: bool(mount.calls("/auth/revoke")))
    assert len(mount.calls("/auth/revoke")) == 1


def test_memory_storage_keeps_nothing_in_web_storage(page: Page, mount: FakeMount) -> None:
    mount.element = '<authai-signin storage="memory"></authai-signin>'
    mount.polls = [{"status": "complete", "jwt": JWT}]
    open_page(page)
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    page.wait_for_selector('authai-signin[state="signed-in"]')
    assert stored(page) == {}
    assert page.evaluate("document.querySelector('authai-signin').getToken()") == JWT
    page.reload()
    page.wait_for_selector('authai-signin[state="signed-out"]')


@pytest.mark.parametrize(("status", "state"), [(200, "signed-in"), (401, "signed-out")])
def test_a_stored_jwt_is_checked_on_load(
    page: Page, mount: FakeMount, status: int, state: str
) -> None:
    mount.element = '<authai-signin storage="local"></authai-signin>'
    mount.whoami_status = status
    page.goto(f"{ORIGIN}/404")
    page.evaluate("(jwt) => localStorage.setItem('authai:jwt', jwt)", JWT)
    open_page(page, state)
    assert mount.calls("/auth/whoami") == [("GET", "/authai/auth/whoami", f"Bearer {JWT}")]
    assert stored(page) == ({"authai:jwt": JWT} if status == 200 else {})


def test_an_expired_stored_jwt_is_dropped_without_asking(page: Page, mount: FakeMount) -> None:
    expired = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjEwMH0.c2ln"  # exp 100
    page.goto(f"{ORIGIN}/404")
    page.evaluate("(jwt) => sessionStorage.setItem('authai:jwt', jwt)", expired)
    open_page(page)
    assert mount.calls("/auth/whoami") == []
    assert stored(page) == {}


def test_denial_says_so(page: Page, mount: FakeMount) -> None:
    mount.polls = [{"status": "error", "error": "the sign-in was denied"}]
    open_page(page)
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    page.wait_for_function("window.seen.length > 0")
    assert page.locator("authai-signin").get_attribute("state") == "signed-out"
    assert message(page) == "The sign-in was denied."
    assert events(page) == [
        {"type": "authai:error", "detail": {"code": "denied", "message": "The sign-in was denied."}}
    ]


def test_other_failures_show_the_servers_text_as_text(page: Page, mount: FakeMount) -> None:
    mount.polls = [{"status": "error", "error": "<b>provider disabled</b>"}]
    open_page(page)
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    page.wait_for_function("window.seen.length > 0")
    assert message(page) == "The sign-in failed: <b>provider disabled</b>"
    assert page.locator("authai-signin b").count() == 0


GUIDANCE = (
    'Device code sign-in is turned off for this ChatGPT account: turn on "device code '
    "authorization for Codex\" in ChatGPT's security settings (https://chatgpt.com/security-settings)"
    ", or ask your workspace admin to allow it, then sign in again."
)
DISABLED = {"code": "device_code_disabled", "help": "https://chatgpt.com/security-settings"}


def help_link(page: Page) -> Any:
    return page.locator('authai-signin [part="help-link"]')


@pytest.mark.parametrize("where", ["start", "poll"])
def test_device_login_turned_off_is_guidance_with_the_settings_link(
    page: Page, mount: FakeMount, where: str
) -> None:
    answer = {"error": GUIDANCE, **DISABLED}
    if where == "start":
        mount.start = answer
    else:
        mount.polls = [{"status": "error", **answer}]
    open_page(page)
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    page.wait_for_function("window.seen.length > 0")
    assert page.locator("authai-signin").get_attribute("state") == "signed-out"
    assert message(page) == GUIDANCE  # the guidance itself, not "The sign-in failed: ..."
    link = help_link(page)
    assert link.is_visible()
    assert link.get_attribute("href") == DISABLED["help"]
    assert link.inner_text() == "Open the ChatGPT security settings"
    assert events(page) == [
        {
            "type": "authai:error",
            "detail": {"message": GUIDANCE, **DISABLED},
        }
    ]
    # A new attempt clears the guidance.
    mount.start, mount.polls = {}, [{"status": "pending"}]
    mount.started()
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    page.wait_for_selector('authai-signin[state="pending"]')
    assert message(page) == ""
    assert not help_link(page).is_visible()


def test_a_settings_link_off_the_providers_site_is_not_a_link(page: Page, mount: FakeMount) -> None:
    mount.polls = [
        {"status": "error", "error": "turn it on", **DISABLED, "help": "https://evil.test/"}
    ]
    open_page(page)
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    page.wait_for_function("window.seen.length > 0")
    assert message(page) == "turn it on"
    assert not help_link(page).is_visible()
    assert help_link(page).get_attribute("href") is None


def test_expiry_stops_polling_and_says_so(page: Page, mount: FakeMount) -> None:
    # pollIntervalMs 0 is raised to the 1000 ms floor: a 2.5 s code gets at most 3 polls.
    mount.started(expiresInMs=2500, pollIntervalMs=0)
    open_page(page)
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    page.wait_for_function("window.seen.length > 0")
    assert message(page) == "The code expired before it was approved. Try again."
    assert events(page)[0]["detail"]["code"] == "expired"
    assert 1 <= len(mount.calls("/auth/poll/s1")) <= 3
    assert page.locator("authai-signin").get_attribute("state") == "signed-out"


def test_a_start_failure_is_reported(page: Page, mount: FakeMount) -> None:
    mount.start = {"error": "unknown provider: nope"}
    mount.element = '<authai-signin provider="nope"></authai-signin>'
    open_page(page)
    page.get_by_role("button", name="Sign in with nope").click()
    page.wait_for_function("window.seen.length > 0")
    assert message(page) == "Could not start the sign-in: unknown provider: nope"
    start = [r for r in mount.requests if r[1] == "/authai/auth/start"]
    assert len(start) == 1


def test_cookie_mode_keeps_no_token(page: Page, mount: FakeMount) -> None:
    mount.element = '<authai-signin session="cookie"></authai-signin>'
    mount.polls = [{"status": "complete", "session": "cookie"}]
    open_page(page)
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    page.wait_for_selector('authai-signin[state="signed-in"]')
    assert page.evaluate("document.querySelector('authai-signin').getToken()") is None
    assert stored(page) == {"authai:session": "1"}
    assert events(page)[0]["detail"]["jwt"] is None
    assert mount.calls("/auth/whoami") == [("GET", "/authai/auth/whoami", None)]
    page.reload()
    page.wait_for_selector('authai-signin[state="signed-in"]')
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector('authai-signin[state="signed-out"]')
    eventually(page, lambda: bool(mount.calls("/auth/revoke")))
    assert mount.calls("/auth/revoke") == [("POST", "/authai/auth/revoke", None)]
    assert stored(page) == {}


def test_the_server_may_choose_cookie_mode(page: Page, mount: FakeMount) -> None:
    mount.polls = [{"status": "complete", "session": "cookie"}]
    open_page(page)
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    page.wait_for_selector('authai-signin[state="signed-in"]')
    assert page.evaluate("document.querySelector('authai-signin').getToken()") is None
    assert stored(page) == {"authai:session": "1"}
    page.reload()
    page.wait_for_selector('authai-signin[state="signed-in"]')
    assert mount.calls("/auth/whoami") == [("GET", "/authai/auth/whoami", None)] * 2


def test_the_mount_is_derived_from_the_script_url(page: Page, mount: FakeMount) -> None:
    mount.mount = "/ai/mount"
    open_page(page)
    page.get_by_role("button", name="Sign in with ChatGPT").click()
    page.locator('authai-signin [part="code"]').wait_for()
    assert ("POST", "/ai/mount/auth/start", None) in mount.requests


def test_start_sends_the_provider_as_json(page: Page, mount: FakeMount) -> None:
    mount.element = '<authai-signin provider="GitHub"></authai-signin>'
    open_page(page)
    with page.expect_request(f"{ORIGIN}/authai/auth/start") as sent:
        page.get_by_role("button", name="Sign in with GitHub Copilot").click()
    assert sent.value.headers["content-type"] == "application/json"
    assert json.loads(sent.value.post_data or "") == {"provider": "github"}


CHOICES = 'authai-signin [part="providers"] button'
THREE = {
    "providers": [
        {"id": "openai", "displayName": "ChatGPT"},
        {"id": "github", "displayName": "GitHub Copilot"},
        {"id": "xai", "displayName": "Grok"},
    ]
}


@pytest.mark.parametrize(
    ("provider", "url"),
    [
        ("openai", "https://auth.openai.com/codex/device"),
        ("github", "https://github.com/login/device"),
        ("xai", "https://auth.x.ai/device?user_code=ABCD-EFGH2"),
    ],
)
def test_without_a_provider_every_offered_provider_has_a_button(
    page: Page, mount: FakeMount, provider: str, url: str
) -> None:
    mount.element = "<authai-signin></authai-signin>"
    mount.providers = THREE
    mount.started(provider=provider, verificationUrl=url)
    mount.polls = [{"status": "pending"}, {"status": "complete", "jwt": JWT}]
    mount.who = {**WHO, "user": {"id": "user-1", "provider": provider}}
    open_page(page)
    buttons = page.locator(CHOICES)
    assert buttons.all_inner_texts() == [
        "Sign in with ChatGPT",
        "Sign in with GitHub Copilot",
        "Sign in with Grok",
    ]
    parts = buttons.evaluate_all("bs => bs.map(b => b.part.value)")
    assert parts == [f"button sign-in-button sign-in-{p}" for p in ("openai", "github", "xai")]
    assert mount.calls("/auth/providers") == [("GET", "/authai/auth/providers", None)]
    name = {"openai": "ChatGPT", "github": "GitHub Copilot", "xai": "Grok"}[provider]
    with page.expect_request(f"{ORIGIN}/authai/auth/start") as sent:
        page.get_by_role("button", name=f"Sign in with {name}").click()
    assert json.loads(sent.value.post_data or "") == {"provider": provider}
    # The link rule is the chosen provider's: its own host is a link.
    link = page.locator('authai-signin a[part="link"]')
    link.wait_for()
    assert link.get_attribute("href") == url
    page.wait_for_selector('authai-signin[state="signed-in"]')
    assert page.locator('authai-signin [part="user"]').inner_text() == f"Signed in with {name}"
    assert page.evaluate("document.querySelector('authai-signin').provider") == provider
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector('authai-signin[state="signed-out"]')
    assert page.locator(CHOICES).count() == 3


def test_provider_names_are_text_and_odd_ids_are_dropped(page: Page, mount: FakeMount) -> None:
    mount.element = "<authai-signin></authai-signin>"
    mount.providers = {
        "providers": [
            {"id": "xai", "displayName": "<img src=x onerror=window.pwned=1>"},
            {"id": 'bad id" onclick=1', "displayName": "Bad"},
            {"id": 7, "displayName": "Seven"},
            {"id": "Grok", "displayName": "dup"},
            {"id": "github"},
        ]
    }
    open_page(page)
    buttons = page.locator(CHOICES)
    assert buttons.all_inner_texts() == [
        "Sign in with <img src=x onerror=window.pwned=1>",
        "Sign in with GitHub Copilot",
    ]
    assert page.locator("authai-signin img").count() == 0
    assert page.evaluate("window.pwned") is None
    assert page.evaluate("document.querySelector('authai-signin').providers") == [
        {"id": "xai", "name": "<img src=x onerror=window.pwned=1>"},
        {"id": "github", "name": "GitHub Copilot"},
    ]


@pytest.mark.parametrize("answer", [None, {"providers": []}, {"nope": 1}])
def test_without_the_provider_list_chatgpt_is_offered(
    page: Page, mount: FakeMount, answer: dict[str, Any] | None
) -> None:
    mount.element = "<authai-signin></authai-signin>"
    mount.providers = answer
    open_page(page)
    buttons = page.locator(CHOICES)
    assert buttons.all_inner_texts() == ["Sign in with ChatGPT"]
    with page.expect_request(f"{ORIGIN}/authai/auth/start") as sent:
        buttons.click()
    assert json.loads(sent.value.post_data or "") == {"provider": "openai"}


def test_an_explicit_provider_does_not_ask_for_the_list(page: Page, mount: FakeMount) -> None:
    mount.providers = THREE
    open_page(page)
    assert page.locator('authai-signin [part~="sign-in-button"]:visible').all_inner_texts() == [
        "Sign in with ChatGPT"
    ]
    assert page.locator(CHOICES).count() == 0
    assert mount.calls("/auth/providers") == []
