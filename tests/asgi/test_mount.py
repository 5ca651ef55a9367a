"""Mounting: FastAPI/Starlette in place with lifespan wired, any other ASGI app wrapped; CORS."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from authai_embed import AuthAI, ConfigError, MemoryStore, Secrets, mount_authai
from authai_embed.asgi.app import ROUTE_MEMO
from authai_embed.types import Message, Receive, Scope, Send
from tests._support.harness import HarnessFactory

pytestmark = pytest.mark.anyio


async def _run_lifespan(app: Any, *, between: Any = None) -> list[str]:
    """Drive an ASGI app through startup and shutdown; return the message types it sent."""
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> Message:
        if inbox[0]["type"] == "lifespan.shutdown" and between is not None:
            await between()
        return inbox.pop(0)

    async def send(message: Message) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    return sent


async def test_starlette_mount_opens_the_store_in_the_host_lifespan() -> None:
    events: list[str] = []

    async def home(request: Any) -> PlainTextResponse:
        return PlainTextResponse("host")

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def host_lifespan(app: Any) -> Any:
        events.append("host-start")
        yield
        events.append("host-stop")

    app = Starlette(routes=[Route("/", home)], lifespan=host_lifespan)
    authai = mount_authai(app, store=MemoryStore(), secrets=Secrets.generate())

    async def check_started() -> None:
        events.append(f"started={authai._life.started}")

    sent = await _run_lifespan(app, between=check_started)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert events == ["host-start", "started=True", "host-stop"]
    assert authai._life.started is False

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    assert (await client.get("/")).text == "host"
    assert (await client.get("/authai/")).json()["service"] == "authai-relay"
    await authai.shutdown()


async def test_any_asgi_app_is_wrapped_and_keeps_its_other_paths() -> None:
    async def plain(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            raise ValueError("this app does not do lifespan")  # as Django does
        body = f"plain:{scope['path']}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    authai = mount_authai(plain, store=MemoryStore(), secrets=Secrets.generate())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=authai), base_url="http://t")
    assert (await client.get("/hello")).text == "plain:/hello"
    assert (await client.get("/authaix")).text == "plain:/authaix"
    assert (await client.get("/authai/")).json() == {"ok": True, "service": "authai-relay"}
    assert (await client.get("/authai")).json() == {"ok": True, "service": "authai-relay"}
    sent = await _run_lifespan(authai)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


@pytest.mark.parametrize("path", ["", "/", "authai", "/authai/"])
def test_bad_mount_path_is_a_config_error(path: str) -> None:
    with pytest.raises(ConfigError, match="path must start with"):
        mount_authai(Starlette(), store=MemoryStore(), secrets=Secrets.generate(), path=path)


def test_secrets_must_be_a_secrets_object() -> None:
    with pytest.raises(ConfigError, match="Secrets"):
        mount_authai(Starlette(), store=MemoryStore(), secrets="hex")  # type: ignore[arg-type]


async def test_cors_echoes_only_allowed_origins_never_star(make_harness: HarnessFactory) -> None:
    harness = await make_harness(allowed_origins=["https://app.example"])
    ok = await harness.client.get("/authai/", headers={"Origin": "https://app.example"})
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    assert "Origin" in ok.headers["vary"]
    assert "access-control-allow-credentials" not in ok.headers

    evil = await harness.client.get("/authai/", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in evil.headers

    preflight = await harness.client.options(
        "/authai/auth/start",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    allowed = preflight.headers["access-control-allow-headers"]
    for header in ("Content-Type", "Authorization", "x-authai-secret", "x-authai-publishable-key"):
        assert header in allowed

    refused = await harness.client.options(
        "/authai/auth/start",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    for response in (ok, evil, preflight, refused):
        assert response.headers.get("access-control-allow-origin") != "*"


async def test_v1_paths_answer_unsupported_endpoint(make_harness: HarnessFactory) -> None:
    harness = await make_harness()
    response = await harness.client.post("/authai/v1/embeddings", json={})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": "Endpoint /v1/embeddings not supported by AuthAI",
            "type": "unsupported_endpoint",
        }
    }


@pytest.mark.parametrize("make_app", [Starlette, FastAPI])
def test_a_second_mount_at_the_same_path_on_starlette_is_refused(make_app: Any) -> None:
    app = make_app()
    mount_authai(app, store=MemoryStore(), secrets=Secrets.generate())
    with pytest.raises(ConfigError, match="already mounted at '/authai'"):
        mount_authai(app, store=MemoryStore(), secrets=Secrets.generate())
    mounts = [r for r in app.router.routes if isinstance(r, Mount)]
    assert [m.path for m in mounts] == ["/authai"]
    mount_authai(app, store=MemoryStore(), secrets=Secrets.generate(), path="/other")
    assert [r.path for r in app.router.routes if isinstance(r, Mount)] == ["/authai", "/other"]


def test_a_mount_over_a_host_route_at_the_same_path_is_refused() -> None:
    async def home(request: Any) -> PlainTextResponse:
        return PlainTextResponse("host")

    app = Starlette(routes=[Route("/authai", home)])
    with pytest.raises(ConfigError, match="a route is already mounted at '/authai'"):
        mount_authai(app, store=MemoryStore(), secrets=Secrets.generate())


async def test_a_second_wrap_at_the_same_path_is_refused() -> None:
    async def plain(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"plain"})

    first = mount_authai(plain, store=MemoryStore(), secrets=Secrets.generate())
    with pytest.raises(ConfigError, match="already mounted at '/authai'"):
        mount_authai(first, store=MemoryStore(), secrets=Secrets.generate())
    with pytest.raises(ConfigError, match="already wraps an app"):
        first.wrap(plain, "/elsewhere")
    outer = mount_authai(first, store=MemoryStore(), secrets=Secrets.generate(), path="/b")
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=outer), base_url="http://t")
    assert (await client.get("/b/")).json()["service"] == "authai-relay"
    assert (await client.get("/authai/")).json()["service"] == "authai-relay"
    assert (await client.get("/x")).text == "plain"


def test_route_lookups_are_remembered_within_a_bound() -> None:
    authai = AuthAI(store=MemoryStore(), secrets=Secrets.generate())
    found, ok = authai._find_route("POST", "/v1/chat/completions")
    assert found is not None
    assert (found.path, ok) == ("/v1/chat/completions", True)
    assert authai._find_route("POST", "/v1/chat/completions") == (found, True)
    for _ in range(2):
        wrong, ok = authai._find_route("GET", "/auth/start")  # a 405
        assert wrong is not None
        assert (wrong.path, ok) == ("/auth/start", False)
    # Any number of paths a client makes up: the memo stays bounded, the answers the same.
    for n in range(ROUTE_MEMO + 50):
        assert authai._find_route("GET", "/v1/models" + "/" * n)[0] is not None
        assert authai._find_route("GET", f"/v1/nothing/{n}")[0] is not None  # the /v1 catch-all
    assert len(authai._route_memo[1]) == ROUTE_MEMO
    # A table replaced afterwards (tests do) is the one read.
    authai._routes = ()
    assert authai._find_route("POST", "/v1/chat/completions") == (None, False)
