"""The ASGI apps the served measurements run under uvicorn (`uvicorn --factory bench.servers:...`).

Configuration comes from the environment, because uvicorn starts them in fresh processes:
`AUTHAI_BENCH_ISSUER` (the emulator's base URL), `AUTHAI_BENCH_DB` (the app's SQLite file) and
the app's secrets (`AUTH_AI_JWT_SECRET`, `AUTH_AI_IDENTITY_SECRET`), shared by its workers.
"""

from __future__ import annotations

import os
from dataclasses import asdict

from authai_embed import AuthAI, Secrets, SQLiteStore, mount_authai
from authai_embed.asgi.http import JSONResponse, Request, Response
from authai_embed.testing import Emulator

from .rig import BENCH_LIMITS, not_found

__all__ = ["authai_app", "emulator_app"]

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
    emulator = Emulator(issuer=os.environ["AUTHAI_BENCH_ISSUER"])
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
        return JSONResponse(stats)

    emulator.route("POST", "/bench/knobs", knobs)
    emulator.route("GET", "/bench/last", last)
    emulator.route("POST", "/bench/reset", reset)
    return emulator


def authai_app() -> AuthAI:
    """authai_embed as a user would serve it: mounted on a host app (a bare 404 app, so only
    our cost shows), its own upstream client, a SQLite store the workers share."""
    issuer = os.environ["AUTHAI_BENCH_ISSUER"]
    app = mount_authai(
        not_found,
        store=SQLiteStore(os.environ["AUTHAI_BENCH_DB"]),
        secrets=Secrets.from_env(),
        limits=BENCH_LIMITS,
        openai={"issuer": issuer, "api_base": f"{issuer}/backend-api/codex"},
    )
    assert isinstance(app, AuthAI)
    return app
