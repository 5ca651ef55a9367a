"""Measurements 4 and 5: the auth path alone, and a refresh storm on one expired record."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from authai_embed import AuthAI, AuthStore, MemoryStore, Secrets, SQLiteStore
from authai_embed.credentials import Credentials
from authai_embed.testing import ManualClock

from .inprocess import CHAT
from .rig import chat_body, open_rig
from .stats import Summary, summarize

__all__ = [
    "POSTGRES_DSN",
    "StormResult",
    "measure_auth_path",
    "measure_refresh_storm",
]

POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"


async def _auth_path_us(store: AuthStore, count: int) -> Summary:
    """µs per `open_session`: JWT verify + store read + decrypt of one user's record."""
    authai = AuthAI(secrets=Secrets.generate(), store=store)
    await authai.startup()
    try:
        credentials = Credentials(
            provider="openai",
            access="access-" + secrets.token_urlsafe(900),  # a real access token's size
            refresh="refresh-" + secrets.token_urlsafe(40),
            expires_at=time.time() + 3600,
            account_id="acct-bench",
            originator="bench",
        )
        jwt, _ = await authai.sessions.create_session(credentials)
        for _ in range(min(50, count)):
            await authai.sessions.open_session(jwt)
        samples: list[float] = []
        for _ in range(count):
            start = time.perf_counter()
            await authai.sessions.open_session(jwt)
            samples.append((time.perf_counter() - start) * 1e6)
        return summarize(samples)
    finally:
        await authai.shutdown()
        await store.close()


async def measure_auth_path(count: int) -> dict[str, Summary | str]:
    """The auth path per store: memory, SQLite (a temp file), PostgreSQL (a throwaway schema,
    dropped afterwards; reported as unavailable when the server or asyncpg is missing)."""
    results: dict[str, Summary | str] = {}
    results["memory"] = await _auth_path_us(MemoryStore(), count)
    with tempfile.TemporaryDirectory(prefix="authai-bench-") as tmp:
        results["sqlite"] = await _auth_path_us(SQLiteStore(Path(tmp) / "auth.db"), count)
    try:
        import asyncpg  # type: ignore[import-untyped]

        from authai_embed.stores.postgres import PostgresStore
    except ImportError:
        results["postgres"] = "asyncpg not installed"
        return results
    schema = f"authai_bench_{secrets.token_hex(6)}"
    try:
        results["postgres"] = await _auth_path_us(PostgresStore(POSTGRES_DSN, schema=schema), count)
    except Exception as exc:  # any failure to reach the server is reported, not fatal
        results["postgres"] = f"unavailable ({type(exc).__name__})"
    finally:
        try:
            conn = await asyncpg.connect(POSTGRES_DSN)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError):
            pass
    return results


@dataclass(frozen=True, slots=True)
class StormResult:
    """`burst` concurrent requests on one record: refreshes seen, latency with and without."""

    burst: int
    refreshes: int
    storm: Summary
    calm: Summary
    errors: int


async def _burst(rig: object, burst: int) -> tuple[list[float], int]:
    from .rig import InProcessRig

    assert isinstance(rig, InProcessRig)
    body = chat_body(stream=False)

    async def one() -> float | None:
        start = time.perf_counter()
        response = await rig.ours.post(CHAT, json=body, headers=rig.auth_header)
        elapsed = (time.perf_counter() - start) * 1000
        return elapsed if response.status_code == 200 else None

    results = await asyncio.gather(*(one() for _ in range(burst)))
    ok = [r for r in results if r is not None]
    return ok, burst - len(ok)


async def measure_refresh_storm(burst: int, rounds: int) -> StormResult:
    """`rounds` times: a calm burst (valid token), then expire the access token and send the
    same burst; count the refreshes the emulator saw during the storms."""
    clock = ManualClock(time.time())
    with tempfile.TemporaryDirectory(prefix="authai-bench-") as tmp:
        rig = await open_rig(store=SQLiteStore(Path(tmp) / "storm.db"), clock=clock)
        try:
            await _burst(rig, burst)  # warm up
            calm: list[float] = []
            storm: list[float] = []
            errors = 0
            refreshes = 0
            for _ in range(rounds):
                ok, failed = await _burst(rig, burst)
                calm.extend(ok)
                errors += failed
                clock.advance(3600 + 1)  # the emulator's access tokens live an hour
                before = rig.emulator.stats.refreshes
                ok, failed = await _burst(rig, burst)
                refreshes += rig.emulator.stats.refreshes - before
                storm.extend(ok)
                errors += failed
            return StormResult(
                burst,
                refreshes,
                summarize(storm or [0.0]),
                summarize(calm or [0.0]),
                errors,
            )
        finally:
            await rig.aclose()
