"""Starlette: `AuthAIBackend` in `AuthenticationMiddleware` fills `request.user`, `request.auth`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authai_embed import AuthAI, WhoAmI, mount_authai
from authai_embed.integrations.starlette_auth import AuthAIBackend, AuthAIUser
from tests._support.harness import GITHUB_UPSTREAM, UPSTREAM, XAI_UPSTREAM, Harness, emulator_client

pytestmark = pytest.mark.anyio

Opened = list[tuple[httpx.AsyncClient, AuthAI]]


async def whoami(request: Request) -> JSONResponse:
    user = request.user
    if not user.is_authenticated:
        return JSONResponse({"anonymous": True})
    assert isinstance(user, AuthAIUser)
    return JSONResponse({"id": user.identity, "scopes": request.auth.scopes})


@requires("authenticated", status_code=401)
async def chat(request: Request) -> JSONResponse:
    user = request.user
    assert isinstance(user, AuthAIUser)
    client = request.app.state.authai.async_openai_client(user.jwt)
    answer = await client.chat.completions.create(
        model="gpt-5.4", messages=[{"role": "user", "content": "hi"}]
    )
    return JSONResponse({"text": answer.choices[0].message.content})


def starlette_app(harness: Harness, **settings: Any) -> tuple[Starlette, AuthAI]:
    """A plain Starlette host, the backend installed, authai mounted, upstream = the emulator."""
    app = Starlette(routes=[Route("/me", whoami), Route("/chat", chat, methods=["POST"])])
    authai = mount_authai(
        app,
        store=harness.store,
        secrets=harness.secrets,
        http_client=emulator_client(harness.emulator),
        clock=harness.clock,
        openai=UPSTREAM,
        github=GITHUB_UPSTREAM,
        xai=XAI_UPSTREAM,
        **settings,
    )
    app.user_middleware.insert(
        0, Middleware(AuthenticationMiddleware, backend=AuthAIBackend(authai))
    )
    app.state.authai = authai
    return app, authai


@pytest.fixture
async def opened() -> AsyncIterator[list[tuple[httpx.AsyncClient, AuthAI]]]:
    """What the test opened, closed after it."""
    made: list[tuple[httpx.AsyncClient, AuthAI]] = []
    yield made
    for client, authai in made:
        await client.aclose()
        await authai.shutdown()
        await authai.http.aclose()


async def signed_in_client(
    harness: Harness, opened: list[tuple[httpx.AsyncClient, AuthAI]], **settings: Any
) -> tuple[httpx.AsyncClient, str]:
    """A client of a fresh Starlette host with a user signed in: the JWT (or the cookie)."""
    app, authai = starlette_app(harness, **settings)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test")
    opened.append((client, authai))
    started = (await client.post("/authai/auth/start", json={})).json()
    harness.approve("openai", started["userCode"])
    harness.clock.advance(started["pollIntervalMs"] / 1000)
    polled = await client.get(f"/authai/auth/poll/{started['sessionId']}")
    if settings.get("session_cookie"):
        return client, polled.headers["set-cookie"].split(";")[0]
    return client, polled.json()["jwt"]


async def test_a_bearer_request_has_the_user_and_the_scope(
    harness: Harness, opened: Opened
) -> None:
    client, jwt = await signed_in_client(harness, opened)
    me = (await client.get("/me", headers={"Authorization": f"Bearer {jwt}"})).json()
    assert me["scopes"] == ["authenticated", "authai:openai"]
    assert me["id"] == (await harness.authai.whoami(jwt)).user_id
    chat = await client.post("/chat", headers={"Authorization": f"Bearer {jwt}"})
    assert chat.status_code == 200
    assert chat.json()["text"]


@pytest.mark.parametrize("header", [None, "Bearer junk", "Token abc"])
async def test_no_or_bad_session_is_anonymous(
    harness: Harness, opened: Opened, header: str | None
) -> None:
    client, _ = await signed_in_client(harness, opened)
    headers = {} if header is None else {"Authorization": header}
    assert (await client.get("/me", headers=headers)).json() == {"anonymous": True}
    assert (await client.post("/chat", headers=headers)).status_code == 401


async def test_cookie_mode_authenticates_by_cookie_but_not_cross_site(
    harness: Harness, opened: Opened
) -> None:
    client, cookie = await signed_in_client(harness, opened, session_cookie=True)
    client.cookies.clear()
    same = {"Cookie": cookie, "Origin": "http://app.test", "Sec-Fetch-Site": "same-origin"}
    assert (await client.post("/chat", headers=same)).status_code == 200
    cross = {"Cookie": cookie, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert (await client.post("/chat", headers=cross)).status_code == 401
    # A cross-site GET is no state change: the cookie still says who it is.
    me = (await client.get("/me", headers={"Cookie": cookie})).json()
    assert me["scopes"] == ["authenticated", "authai:openai"]


def test_the_user_repr_leaves_the_jwt_out() -> None:
    user = AuthAIUser(WhoAmI("uid", "openai", 1), "secret.jwt.value")
    assert "secret.jwt.value" not in repr(user)
    assert (user.identity, user.display_name) == ("uid", "openai")


def test_the_backend_is_importable_from_the_starlette_module() -> None:
    from authai_embed.integrations import starlette

    assert starlette.AuthAIBackend is AuthAIBackend
    with pytest.raises(AttributeError):
        _ = starlette.NoSuchName
