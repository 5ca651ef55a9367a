"""The ASGI apps the served measurements run under uvicorn (`uvicorn --factory bench.servers:...`).

Configuration comes from the environment, because uvicorn starts them in fresh processes:
`AUTHAI_BENCH_ISSUER` (the emulator's base URL), `AUTHAI_BENCH_DB` (the app's SQLite file),
`AUTHAI_BENCH_METERED` (set: the usage ledger and a quota on; unset: both off, as before they
existed), `AUTHAI_BENCH_GC` (`default`: CPython's collector settings; otherwise every app here,
the emulator's included, is tuned as `authai-embed serve` tunes its workers) and the app's
secrets (`AUTH_AI_JWT_SECRET`, `AUTH_AI_IDENTITY_SECRET`), shared by its
workers.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import asdict

import httpx

from authai_embed import (
    AuthAI,
    Quota,
    Quotas,
    Secrets,
    SQLiteStore,
    UpstreamTransport,
    mount_authai,
    new_upstream_client,
)
from authai_embed.asgi.http import JSONResponse, Request, Response
from authai_embed.testing import Emulator
from authai_embed.types import Receive, Scope, Send

from .rig import BENCH_LIMITS, not_found, tuned

__all__ = ["authai_app", "authai_soak_app", "emulator_app"]

_KNOBS = (
    "event_delay",
    "first_byte_delay",
    "chunk_size",
    "events_per_second",
    "answer_events",
    "stamp_events",
)


def emulator_app() -> Emulator:
    """The emulator, plus `/bench/*` routes for the driver: set knobs, read the last request,
    drop the request log (it would otherwise grow with every request of the run)."""
    ttl = os.environ.get("AUTHAI_BENCH_ACCESS_TTL")  # the soak's short-lived tokens
    emulator = Emulator(
        issuer=os.environ["AUTHAI_BENCH_ISSUER"], access_ttl=int(ttl) if ttl else 3600
    )
    for n in range(int(os.environ.get("AUTHAI_BENCH_ACCOUNTS", "0"))):  # the soak's users
        emulator.add_account(f"bench-{n}")
    codex = emulator.codex

    async def knobs(request: Request) -> Response:
        changes = await request.json(4096)
        for name in _KNOBS:
            if name in changes:
                setattr(codex.knobs, name, changes[name])
        return JSONResponse({name: getattr(codex.knobs, name) for name in _KNOBS})

    async def last(request: Request) -> Response:
        record = codex.last_request()
        return JSONResponse({"headers": record.headers, "body": record.body})

    async def reset(request: Request) -> Response:
        stats = asdict(codex.stats)
        codex.requests.clear()
        codex.stats.events.clear()
        stats.pop("events")
        stats["refreshes"] = emulator.auth.stats.refreshes
        return JSONResponse(stats)

    emulator.route("POST", "/bench/knobs", knobs)
    emulator.route("GET", "/bench/last", last)
    emulator.route("POST", "/bench/reset", reset)
    return tuned(emulator)


def _upstream_client() -> httpx.AsyncClient | None:
    """`AUTHAI_BENCH_UPSTREAM_CONNECTIONS`: the upstream pool's cap (default 256 per origin),
    raised by `--scale`, whose every open stream holds an upstream connection."""
    cap = os.environ.get("AUTHAI_BENCH_UPSTREAM_CONNECTIONS")
    if not cap:
        return None
    transport = UpstreamTransport(max_connections=int(cap), max_idle=int(cap))
    return new_upstream_client(httpx.Timeout(60.0, connect=10.0), transport=transport)


def authai_app() -> AuthAI:
    """authai_embed as a user would serve it: mounted on a host app (a bare 404 app, so only
    our cost shows), its own upstream client, a SQLite store the workers share."""
    issuer = os.environ["AUTHAI_BENCH_ISSUER"]
    metered = bool(os.environ.get("AUTHAI_BENCH_METERED"))
    app = mount_authai(
        not_found,
        http_client=_upstream_client(),
        store=SQLiteStore(os.environ["AUTHAI_BENCH_DB"]),
        secrets=Secrets.from_env(),
        limits=BENCH_LIMITS,
        max_concurrent_per_user=0,  # one user drives every connection (rig.BENCH_LIMITS)
        openai={"issuer": issuer, "api_base": f"{issuer}/backend-api/codex"},
        usage_ledger=metered,
        # A quota every call is reserved against and none is refused by.
        quotas=Quotas(default=Quota(requests_per_day=10**9, tokens_per_day=10**12))
        if metered
        else None,
    )
    assert isinstance(app, AuthAI)
    return tuned(app)


async def _tasks_host(scope: Scope, receive: Receive, send: Send) -> None:
    """The soak's host app: `GET /bench/tasks` answers how many asyncio tasks the worker has
    (a leak shows there before it shows in memory); anything else is the bare 404."""
    if scope["type"] == "http" and scope["path"] == "/bench/tasks":
        await JSONResponse({"tasks": len(asyncio.all_tasks())})(scope, receive, send)
        return
    await not_found(scope, receive, send)


def authai_soak_app() -> AuthAI:
    """`authai_app` on a host that reports its asyncio task count (`--soak`)."""
    issuer = os.environ["AUTHAI_BENCH_ISSUER"]
    app = mount_authai(
        _tasks_host,
        store=SQLiteStore(os.environ["AUTHAI_BENCH_DB"]),
        secrets=Secrets.from_env(),
        limits=BENCH_LIMITS,
        max_concurrent_per_user=0,  # one user drives every connection (rig.BENCH_LIMITS)
        openai={"issuer": issuer, "api_base": f"{issuer}/backend-api/codex"},
    )
    assert isinstance(app, AuthAI)
    return tuned(app)
