"""Litestar: the mount as a Litestar ASGI route (and wrapped around the app), and the
`authai_user` / `authai_openai` dependencies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from litestar import Litestar, get, post
from litestar.di import NamedDependency

from authai_embed import AuthAI, WhoAmI
from authai_embed.integrations.litestar import authai_dependencies, authai_route
from tests._support.harness import Harness

pytestmark = pytest.mark.anyio


@get("/api/me")
async def me(authai_user: NamedDependency[WhoAmI]) -> dict[str, str]:
    return {"id": authai_user.user_id, "provider": authai_user.provider}


@post("/api/chat")
async def chat(authai_openai: NamedDependency[openai.AsyncOpenAI]) -> dict[str, Any]:
    answer = await authai_openai.chat.completions.create(
        model="gpt-5.4", messages=[{"role": "user", "content": "hi"}]
    )
    return {"text": answer.choices[0].message.content}


def litestar_app(authai: AuthAI, *, mount: bool) -> Litestar:
    handlers: list[Any] = [me, chat]
    if mount:
        handlers.append(authai_route(authai))
    return Litestar(
        route_handlers=handlers,
        dependencies=authai_dependencies(authai),
        on_startup=[authai.startup],
        on_shutdown=[authai.shutdown],
    )


@pytest.fixture(params=["route", "wrap"])
async def client(
    request: pytest.FixtureRequest, harness: Harness
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a Litestar app with the mount at /authai, either way round."""
    if request.param == "route":
        app: Any = litestar_app(harness.authai, mount=True)
    else:
        inner: Any = litestar_app(harness.authai, mount=False)  # Litestar types its scopes
        app = harness.authai.wrap(inner, "/authai")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as client:
        yield client


async def sign_in(harness: Harness, client: httpx.AsyncClient) -> str:
    """The browser's flow, through the Litestar app's /authai."""
    started = (await client.post("/authai/auth/start", json={"provider": "openai"})).json()
    harness.approve("openai", started["userCode"])
    harness.clock.advance(started["pollIntervalMs"] / 1000)
    polled = (await client.get(f"/authai/auth/poll/{started['sessionId']}")).json()
    jwt: str = polled["jwt"]
    return jwt


async def test_the_mount_answers_inside_litestar(client: httpx.AsyncClient) -> None:
    assert (await client.get("/authai/")).json() == {"ok": True, "service": "authai-relay"}
    who = await client.get("/authai/auth/whoami")
    assert (who.status_code, who.content) == (401, b'{"error":"unauthorized"}')


async def test_the_dependencies_give_the_user_and_a_client(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    jwt = await sign_in(harness, client)
    bearer = {"Authorization": f"Bearer {jwt}"}
    who = await harness.authai.whoami(jwt)
    assert (await client.get("/api/me", headers=bearer)).json() == {
        "id": who.user_id,
        "provider": "openai",
    }
    answer = await client.post("/api/chat", headers=bearer)
    assert answer.status_code == 201
    assert answer.json()["text"]


@pytest.mark.parametrize("path", ["/api/me", "/api/chat"])
async def test_no_session_is_a_401(client: httpx.AsyncClient, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer junk"}):
        answer = await client.request("POST" if "chat" in path else "GET", path, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
