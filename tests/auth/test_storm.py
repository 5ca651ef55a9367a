"""Refresh across processes: several worker processes, each with its own `AuthAI`, share one
store (a SQLite file or PostgreSQL) and one upstream emulator served on loopback.

- The storm: 4 processes of 50 concurrent requests for one user whose access token has expired.
  The emulator must see exactly one refresh and every request must succeed; then a revocation
  made in one process is seen at once by a fresh one.
- Several sessions of one account (one user signed in on three devices), storming from two
  processes at once: each session's record is refreshed exactly once, none is lost, and every
  session ends holding the refresh token the provider considers current.
- The crash: a process dies after the provider answered its refresh and before it wrote the new
  tokens. The record must be left whole, and the next request must cleanly ask for sign-in
  (the spent refresh token is refused as reused) rather than fail with a 500.

Both run for every provider with rotating single-use refresh tokens: ChatGPT and Grok (xAI).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from authai_embed import StreamingASGITransport
from authai_embed.testing import Emulator
from authai_embed.testing.token_ledger import TokenLedger
from tests._support.loopback import served
from tests._support.processes import run_processes
from tests._support.services import drop_schema, require_postgres, unique_schema
from tests._support.storm import (
    KILLED_EXIT,
    WorkerSpec,
    call_proxy,
    dying_worker,
    sessions_storm_worker,
    storm_worker,
)

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

WORKERS = 4
REQUESTS = 200
UNAUTHORIZED = {"error": {"message": "unauthorized", "type": "invalid_request_error"}}


@dataclass
class Deployment:
    """The emulator served on loopback, the shared store's URL, and the app's secrets."""

    emulator: Emulator
    spec: WorkerSpec

    @property
    def provider(self) -> str:
        return self.spec.provider

    @property
    def auth_stats(self) -> Any:
        """The provider's token endpoint counters (`refreshes`, `refresh_reuses`, ...)."""
        return self.emulator.xai.stats if self.provider == "xai" else self.emulator.stats

    @property
    def ledger(self) -> TokenLedger:
        """What became of every token the provider issued."""
        return self.emulator.xai.ledger if self.provider == "xai" else self.emulator.auth.ledger

    @property
    def model_requests(self) -> int:
        model = self.emulator.xai.model if self.provider == "xai" else self.emulator.codex
        return model.stats.requests

    def set_access_ttl(self, seconds: int) -> None:
        knobs = self.emulator.xai.knobs if self.provider == "xai" else self.emulator.knobs
        knobs.access_ttl = seconds

    def approve(self, user_code: str) -> None:
        if self.provider == "xai":
            self.emulator.xai.approve(user_code)
        else:
            self.emulator.approve(user_code)


@pytest.fixture(params=["openai", "xai"])
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sqlite", "postgres"])
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
async def deployment(store_url: str, provider: str) -> AsyncIterator[Deployment]:
    # Real time (the workers are other processes) and a one-second poll interval.
    emulator = Emulator(interval="1")
    emulator.xai.knobs.interval = 1
    async with served(emulator) as base:
        emulator.knobs.issuer = base
        yield Deployment(
            emulator,
            WorkerSpec(
                store_url=store_url,
                jwt_secret_hex=secrets.token_hex(32),
                identity_secret_hex=secrets.token_hex(32),
                upstream_base=base,
                provider=provider,
            ),
        )


async def sign_in(deployment: Deployment, *, expired: bool = True) -> str:
    """Sign in through a fresh `AuthAI` of the deployment and return the JWT; when `expired`,
    only once the access token it stored has expired (refreshed tokens then live an hour)."""
    deployment.set_access_ttl(1 if expired else 3600)
    authai = deployment.spec.authai()
    await authai.startup()
    try:
        async with httpx.AsyncClient(
            transport=StreamingASGITransport(authai), base_url="http://test.test"
        ) as client:
            body = {"provider": deployment.provider}
            started = (await client.post("/auth/start", json=body)).json()
            deployment.approve(started["userCode"])
            with anyio.fail_after(15):
                while True:
                    await anyio.sleep(started["pollIntervalMs"] / 1000)
                    polled = (await client.get(f"/auth/poll/{started['sessionId']}")).json()
                    if polled["status"] != "pending":
                        break
            assert polled["status"] == "complete", polled
            session = await authai.sessions.open_session(polled["jwt"])
    finally:
        await authai.shutdown()
    expires = session.credentials.expires_at
    assert expires is not None
    if expired:
        await anyio.sleep(max(0.0, expires - authai.clock.now()) + 0.05)
        deployment.set_access_ttl(3600)
    jwt: str = polled["jwt"]
    return jwt


async def test_a_refresh_storm_across_processes_refreshes_once(
    deployment: Deployment, tmp_path: Path
) -> None:
    jwt = await sign_in(deployment)
    per_worker = REQUESTS // WORKERS
    outs = [tmp_path / f"worker-{n}.json" for n in range(WORKERS)]
    exitcodes = await anyio.to_thread.run_sync(
        run_processes,
        storm_worker,
        [(deployment.spec, jwt, per_worker, str(out)) for out in outs],
    )
    assert exitcodes == [0] * WORKERS, f"worker exit codes {exitcodes}; see stderr"

    results = [result for out in outs for result in json.loads(out.read_text())]
    assert len(results) == REQUESTS
    failures = [r for r in results if r["status"] != 200]
    assert not failures, f"{len(failures)} requests failed, e.g. {failures[0]}"
    replies = {r["body"]["choices"][0]["message"]["content"] for r in results}
    assert len(replies) == 1
    assert replies != {""}

    stats = deployment.auth_stats
    assert stats.refreshes == 1, f"the emulator saw {stats.refreshes} refreshes"
    assert stats.rejected_refreshes == 0
    assert stats.refresh_reuses == 0
    assert deployment.model_requests >= REQUESTS

    # Revoking in this process ends the session at once for every other process.
    authai = deployment.spec.authai()
    async with authai.lifespan():
        await authai.revoke(jwt)
    after = tmp_path / "after-revoke.json"
    exitcodes = await anyio.to_thread.run_sync(
        run_processes, storm_worker, [(deployment.spec, jwt, 5, str(after))]
    )
    assert exitcodes == [0]
    assert json.loads(after.read_text()) == [{"status": 401, "body": UNAUTHORIZED}] * 5


SESSIONS = 3
SESSION_WORKERS = 2


async def test_a_storm_over_several_sessions_of_one_account_refreshes_each_once(
    deployment: Deployment, tmp_path: Path
) -> None:
    jwts = [await sign_in(deployment) for _ in range(SESSIONS)]
    per_session = 20
    outs = [tmp_path / f"sessions-worker-{n}.json" for n in range(SESSION_WORKERS)]
    exitcodes = await anyio.to_thread.run_sync(
        run_processes,
        sessions_storm_worker,
        [(deployment.spec, jwts, per_session, str(out)) for out in outs],
    )
    assert exitcodes == [0] * SESSION_WORKERS, f"worker exit codes {exitcodes}; see stderr"

    results = [r for out in outs for rs in json.loads(out.read_text()).values() for r in rs]
    assert len(results) == SESSION_WORKERS * SESSIONS * per_session
    failures = [r for r in results if r["status"] != 200]
    assert not failures, f"{len(failures)} requests failed, e.g. {failures[0]}"

    stats = deployment.auth_stats
    assert stats.refreshes == SESSIONS, f"the emulator saw {stats.refreshes} refreshes"
    assert stats.rejected_refreshes == 0
    assert stats.refresh_reuses == 0

    authai = deployment.spec.authai()
    async with authai.lifespan():
        sessions = [await authai.sessions.open_session(jwt) for jwt in jwts]
        users = {(await authai.whoami(jwt)).user_id for jwt in jwts}
    assert len(users) == 1
    assert len({s.record.id for s in sessions}) == SESSIONS
    refresh_tokens = [s.credentials.refresh for s in sessions]
    assert len(set(refresh_tokens)) == SESSIONS
    for session in sessions:
        assert session.record.version == 2  # written once: the one refresh
        token = session.credentials.refresh
        assert token is not None
        verdict, _ = deployment.ledger.refresh_verdict(token, deployment.emulator.clock.now())
        assert verdict == "ok", "a session kept a refresh token the provider rotated away"


async def test_a_process_killed_between_refresh_and_write_leaves_a_clean_state(
    deployment: Deployment,
) -> None:
    jwt = await sign_in(deployment)
    authai = deployment.spec.authai()
    await authai.startup()
    try:
        before = await authai.sessions.open_session(jwt)

        exitcodes = await anyio.to_thread.run_sync(
            run_processes, dying_worker, [(deployment.spec, jwt, 8.0)]
        )
        assert exitcodes == [KILLED_EXIT], "the worker should die just before its write"
        assert deployment.auth_stats.refreshes == 1  # the provider answered; tokens spent

        # Nothing was half-written: the same JWT still opens the same, intact record.
        after = await authai.sessions.open_session(jwt)
        assert after.record == before.record
        assert after.credentials == before.credentials

        # The next request waits out the dead worker's lease, spends the old refresh token,
        # which the provider refuses as reused, and so cleanly asks for sign-in: the uniform 401.
        [result] = await call_proxy(authai, jwt, 1, deployment.provider)
        assert result == {"status": 401, "body": UNAUTHORIZED}
        assert deployment.auth_stats.refresh_reuses == 1
        assert await authai.store.get_record(before.record.id) is None

        # Signing in again works, and so does the proxy.
        fresh = await sign_in(deployment, expired=False)
        [again] = await call_proxy(authai, fresh, 1, deployment.provider)
        assert again["status"] == 200, again
    finally:
        await authai.shutdown()
