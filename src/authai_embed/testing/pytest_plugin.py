"""pytest fixtures for a host app's own tests: its mount on the emulator, a signed-in user, and
an `openai.AsyncOpenAI` for that user, each a fixture argument away (docs/testing.md).

Installed, the package registers this plugin with pytest (through `_authai_embed_pytest`); from a
source checkout, `pytest -p authai_embed.testing.pytest_plugin`. Nothing is autouse: a fixture
runs only in a test that asks for it. The async ones run under anyio (`@pytest.mark.anyio`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from authai_embed import AuthAI, MemoryStore, Secrets, StreamingASGITransport, mount_authai
from authai_embed.asgi.cookies import SESSION_COOKIE_NAME
from authai_embed.testing.clock import ManualClock
from authai_embed.testing.emulator import DEFAULT_ISSUER, Emulator
from authai_embed.types import Receive, Scope, Send

if TYPE_CHECKING:
    import openai

__all__ = [
    "AuthAIUser",
    "authai_app",
    "authai_client",
    "authai_clock",
    "authai_emulator",
    "authai_mount",
    "authai_openai",
    "authai_options",
    "authai_user",
]

START = 1_800_000_000.0
UPSTREAMS: dict[str, dict[str, str]] = {
    "openai": {"issuer": DEFAULT_ISSUER, "api_base": f"{DEFAULT_ISSUER}/backend-api/codex"},
    "github": {"web_base": f"{DEFAULT_ISSUER}/github", "api_base": f"{DEFAULT_ISSUER}/github-api"},
    "xai": {
        "issuer": f"{DEFAULT_ISSUER}/xai-auth",
        "api_base": f"{DEFAULT_ISSUER}/xai/v1",
        "subscription_base": f"{DEFAULT_ISSUER}/grok-cli/v1",
    },
}
"""Every provider's section, pointed at the emulator."""


@dataclass(frozen=True, slots=True)
class AuthAIUser:
    """A user signed in through the mount: the session JWT, the opaque user id, the provider."""

    jwt: str
    user_id: str
    provider: str

    @property
    def headers(self) -> dict[str, str]:
        """`Authorization: Bearer <jwt>`, for a request to your app."""
        return {"Authorization": f"Bearer {self.jwt}"}


@pytest.fixture
def authai_clock() -> ManualClock:
    """The clock of the emulator and the mount: `authai_clock.advance(seconds)` moves both."""
    return ManualClock(START)


@pytest.fixture
def authai_emulator(authai_clock: ManualClock) -> Emulator:
    """The upstream emulator (ChatGPT, Copilot, xAI); its knobs are docs/testing.md's."""
    return Emulator(clock=authai_clock, issuer=DEFAULT_ISSUER)


@pytest.fixture
def authai_options(authai_emulator: Emulator, authai_clock: ManualClock) -> dict[str, Any]:
    """Keyword arguments for `mount_authai`/`AuthAI` that wire the mount to the emulator:
    fresh secrets, a memory store, the clock, every provider. Pass them on to your app's
    factory (`create_app(**authai_options)`); your own keywords go alongside."""
    return {
        "secrets": Secrets.generate(),
        "store": MemoryStore(),
        "clock": authai_clock,
        "http_client": httpx.AsyncClient(transport=StreamingASGITransport(authai_emulator)),
        "providers": tuple(UPSTREAMS),
        **UPSTREAMS,
    }


async def _no_host_route(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b"no host app (override authai_app)"})


@pytest.fixture
def authai_app(authai_options: dict[str, Any]) -> Any:
    """The ASGI app under test. Override it in your conftest.py to return YOUR app, built with
    `**authai_options` passed to its `mount_authai`. By default: the mount alone at `/authai`."""
    return mount_authai(_no_host_route, **authai_options)


def _find_mount(app: Any) -> tuple[AuthAI, str]:
    """The `AuthAI` in `app` and its path: `app` itself (a wrapper), or a Starlette mount."""
    if isinstance(app, AuthAI):
        return app, app._prefix  # the path it wraps at (set by `wrap`)
    router = getattr(app, "router", None)
    for route in getattr(router, "routes", ()):
        if isinstance(getattr(route, "app", None), AuthAI):
            return route.app, route.path
    pytest.fail(
        "authai_app has no authai_embed mount: return the app whose mount_authai(...) got"
        " **authai_options (an AuthAI itself, or a FastAPI/Starlette app)",
        pytrace=False,
    )


@pytest.fixture
def authai_mount(authai_app: Any, authai_options: dict[str, Any]) -> AuthAI:
    """The `AuthAI` mounted in `authai_app` (for `whoami`, `async_openai_client`, ...)."""
    mount, _ = _find_mount(authai_app)
    if mount.http is not authai_options["http_client"]:
        pytest.fail(
            "the mount in authai_app is not wired to the emulator: pass **authai_options to"
            " its mount_authai(...)",
            pytrace=False,
        )
    return mount


@pytest.fixture
async def authai_client(
    authai_app: Any, authai_mount: AuthAI, authai_options: dict[str, Any]
) -> AsyncIterator[httpx.AsyncClient]:
    """An `httpx.AsyncClient` on `authai_app`, in-process (`http://testserver`); the mount and
    the emulator client are closed after the test."""
    transport = httpx.ASGITransport(app=authai_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await authai_mount.shutdown()
    await authai_options["http_client"].aclose()


def _approve(emulator: Emulator, provider: str, user_code: str) -> None:
    if provider == "github":
        emulator.github.approve(user_code)
    elif provider == "xai":
        emulator.xai.approve(user_code)
    else:
        emulator.approve(user_code)


@pytest.fixture
async def authai_user(
    authai_client: httpx.AsyncClient,
    authai_app: Any,
    authai_mount: AuthAI,
    authai_emulator: Emulator,
    authai_clock: ManualClock,
) -> AuthAIUser:
    """A user signed in through the mount's own routes with its first provider (start, approval
    at the emulator, poll), as a browser would; in cookie mode the client keeps the cookie."""
    _, path = _find_mount(authai_app)
    provider = next(iter(authai_mount.providers))
    started = await authai_client.post(f"{path}/auth/start", json={"provider": provider})
    assert started.status_code == 200, started.text
    body = started.json()
    _approve(authai_emulator, provider, body["userCode"])
    authai_clock.advance(body["pollIntervalMs"] / 1000)
    polled = await authai_client.get(f"{path}/auth/poll/{body['sessionId']}")
    assert polled.json().get("status") == "complete", polled.text
    jwt = polled.json().get("jwt") or _cookie_jwt(polled)
    who = await authai_mount.whoami(jwt)
    return AuthAIUser(jwt=jwt, user_id=who.user_id, provider=who.provider)


def _cookie_jwt(response: httpx.Response) -> str:
    cookies: SimpleCookie = SimpleCookie()
    for value in response.headers.get_list("set-cookie"):
        cookies.load(value)
    return cookies[SESSION_COOKIE_NAME].value


@pytest.fixture
async def authai_openai(
    authai_mount: AuthAI, authai_user: AuthAIUser
) -> AsyncIterator[openai.AsyncOpenAI]:
    """An `openai.AsyncOpenAI` for `authai_user`, calling the mount in-process (skipped when
    the `openai` package is not installed)."""
    pytest.importorskip("openai")
    client = authai_mount.async_openai_client(authai_user.jwt)
    yield client
    await client.close()
