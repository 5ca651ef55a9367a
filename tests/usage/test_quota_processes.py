"""A daily quota across processes: 4 worker processes, each with its own `AuthAI` on one shared
store (a SQLite file, PostgreSQL), call for one user at once; exactly the quota is admitted,
and the ledger counts exactly the admitted calls."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from authai_embed.testing import Emulator
from tests._support.loopback import served
from tests._support.processes import run_processes
from tests._support.quota_worker import quota_worker
from tests._support.services import drop_schema, require_postgres, unique_schema
from tests._support.storm import WorkerSpec
from tests.auth.test_storm import Deployment, sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

WORKERS = 4
PER_WORKER = 10
QUOTA = 13


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    schema = unique_schema()
    try:
        yield f"{require_postgres()}?schema={schema}"
    finally:
        await drop_schema(schema)


@pytest.fixture
async def deployment(store_url: str) -> AsyncIterator[Deployment]:
    emulator = Emulator(interval="1")
    async with served(emulator) as base:
        emulator.knobs.issuer = base
        yield Deployment(
            emulator,
            WorkerSpec(
                store_url=store_url,
                jwt_secret_hex=secrets.token_hex(32),
                identity_secret_hex=secrets.token_hex(32),
                upstream_base=base,
            ),
        )


async def test_four_processes_admit_exactly_the_quota(
    deployment: Deployment, tmp_path: Path
) -> None:
    jwt = await sign_in(deployment, expired=False)
    outs = [tmp_path / f"worker-{n}.json" for n in range(WORKERS)]
    exitcodes = await anyio.to_thread.run_sync(
        run_processes,
        quota_worker,
        [(deployment.spec, jwt, PER_WORKER, QUOTA, str(out)) for out in outs],
    )
    assert exitcodes == [0] * WORKERS, f"worker exit codes {exitcodes}; see stderr"
    statuses = [s for out in outs for s in json.loads(out.read_text())]
    assert sorted(set(statuses)) == [200, 429]
    assert statuses.count(200) == QUOTA
    assert deployment.model_requests == QUOTA

    authai = deployment.spec.authai()
    async with authai.lifespan():
        user = (await authai.whoami(jwt)).user_id
        rows = await authai.usage(user)
    assert [(r.requests, r.errors) for r in rows] == [(QUOTA, 0)]
