"""The whole sign-in through a FastAPI app mounted at /authai, in-process, against the emulator."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import anyio
import pytest

from authai_embed import MemoryStore, SQLiteStore
from authai_embed.testing import TOKEN_MARKER
from tests._support.harness import Harness, HarnessFactory

pytestmark = pytest.mark.anyio


async def test_root_and_providers_answer_the_contract(harness: Harness) -> None:
    root = await harness.client.get("/authai/")
    assert root.status_code == 200
    assert root.json() == {"ok": True, "service": "authai-relay"}
    providers = await harness.client.get("/authai/auth/providers")
    assert providers.json() == {
        "providers": [
            {"id": "openai", "displayName": "ChatGPT"},
            {"id": "github", "displayName": "GitHub Copilot"},
            {"id": "xai", "displayName": "Grok"},
        ]
    }


async def test_full_sign_in_whoami_and_revoke(harness: Harness) -> None:
    start = await harness.client.post("/authai/auth/start", json={"provider": "openai"})
    assert start.status_code == 200
    started = start.json()
    assert set(started) == {
        "sessionId",
        "provider",
        "userCode",
        "verificationUrl",
        "expiresInMs",
        "pollIntervalMs",
    }
    assert started["provider"] == "openai"
    assert started["verificationUrl"] == "http://auth.emulator.test/codex/device"
    assert started["pollIntervalMs"] >= 1000
    assert 0 < started["expiresInMs"] <= 15 * 60 * 1000
    assert len(base64.urlsafe_b64decode(started["sessionId"] + "=")) >= 16

    poll_url = f"/authai/auth/poll/{started['sessionId']}"
    assert (await harness.client.get(poll_url)).json() == {"status": "pending"}

    harness.emulator.approve(started["userCode"])
    harness.clock.advance(started["pollIntervalMs"] / 1000)
    done = await harness.client.get(poll_url)
    assert done.status_code == 200
    jwt = done.json()["jwt"]
    assert done.json()["status"] == "complete"

    # Idempotent: a later poll returns the same JWT.
    again = await harness.client.get(poll_url)
    assert again.json() == {"status": "complete", "jwt": jwt}

    auth = {"Authorization": f"Bearer {jwt}"}
    me = await harness.client.get("/authai/auth/whoami", headers=auth)
    assert me.status_code == 200
    body = me.json()
    assert body["user"]["provider"] == "openai"
    assert isinstance(body["user"]["id"], str)
    assert len(body["user"]["id"]) == 43
    claims = json.loads(base64.urlsafe_b64decode(jwt.split(".")[1] + "=="))
    assert body["session"] == {"expires": claims["exp"]}

    # The host's in-process API agrees.
    who = await harness.authai.whoami(jwt)
    assert (who.user_id, who.provider) == (body["user"]["id"], "openai")

    revoked = await harness.client.post("/authai/auth/revoke", headers=auth)
    assert revoked.status_code == 204
    assert revoked.content == b""
    replay = await harness.client.get("/authai/auth/whoami", headers=auth)
    assert replay.status_code == 401
    assert replay.content == b'{"error":"unauthorized"}'


async def test_user_id_is_stable_across_sign_ins_and_older_jwts_keep_working(
    harness: Harness,
) -> None:
    first = await harness.sign_in()
    second = await harness.sign_in()
    id2 = (await harness.authai.whoami(second)).user_id
    earlier = await harness.client.get("/authai/auth/whoami", headers=_bearer(first))
    assert earlier.status_code == 200
    assert earlier.json()["user"]["id"] == id2
    harness.emulator.add_account(account_id="acct-other", email="other@example.com")
    other = await harness.sign_in(account="acct-other")
    assert (await harness.authai.whoami(other)).user_id != id2


async def test_concurrent_polls_return_the_same_jwt_and_make_one_record(harness: Harness) -> None:
    started = (await harness.client.post("/authai/auth/start", json={})).json()
    harness.emulator.approve(started["userCode"])
    harness.clock.advance(10)
    answers: list[dict[str, str]] = []

    async def poll() -> None:
        response = await harness.client.get(f"/authai/auth/poll/{started['sessionId']}")
        answers.append(response.json())

    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(poll)
    # Polls that lost the race saw "pending"; the next round sees the one JWT.
    for _ in range(3):
        await poll()
    jwts = {a["jwt"] for a in answers if a["status"] == "complete"}
    assert len(jwts) == 1
    assert {a["status"] for a in answers} <= {"pending", "complete"}
    assert harness.emulator.stats.exchanges == 1


async def test_polls_faster_than_the_interval_do_not_reach_the_provider(harness: Harness) -> None:
    started = (await harness.client.post("/authai/auth/start", json={})).json()
    url = f"/authai/auth/poll/{started['sessionId']}"
    await harness.client.get(url)
    before = harness.emulator.stats.device_polls
    for _ in range(5):
        assert (await harness.client.get(url)).json() == {"status": "pending"}
    assert harness.emulator.stats.device_polls == before
    harness.clock.advance(started["pollIntervalMs"] / 1000)
    await harness.client.get(url)
    assert harness.emulator.stats.device_polls == before + 1


async def test_denied_and_expired_logins(harness: Harness) -> None:
    denied = (await harness.client.post("/authai/auth/start", json={})).json()
    harness.emulator.deny(denied["userCode"])
    harness.clock.advance(10)
    answer = (await harness.client.get(f"/authai/auth/poll/{denied['sessionId']}")).json()
    assert answer["status"] == "error"
    assert answer["error"]

    late = (await harness.client.post("/authai/auth/start", json={})).json()
    harness.clock.advance(late["expiresInMs"] / 1000 + 1)
    answer = (await harness.client.get(f"/authai/auth/poll/{late['sessionId']}")).json()
    assert answer == {"status": "expired"}


async def test_aliases_and_missing_provider_mean_openai(harness: Harness) -> None:
    for body in ({}, {"provider": "chatgpt"}, {"provider": "Codex"}, {"provider": None}):
        response = await harness.client.post("/authai/auth/start", json=body)
        assert response.status_code == 200, body
        assert response.json()["provider"] == "openai"
    empty = await harness.client.post("/authai/auth/start")
    assert empty.json()["provider"] == "openai"


async def test_sqlite_file_never_holds_a_provider_token(
    make_harness: HarnessFactory, tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "vault.db")
    harness = await make_harness(store=store)
    jwt = await harness.sign_in()
    await harness.client.get("/authai/auth/whoami", headers=_bearer(jwt))
    raw = _read_files(tmp_path, "vault.db*")  # the database and its write-ahead log, live
    await harness.authai.shutdown()  # checkpoint and close, then read again
    raw += _read_files(tmp_path, "vault.db*")
    assert len(raw) > 4096
    tokens = harness.emulator.issued_tokens()
    assert tokens
    for token in [*tokens, jwt, jwt.split(".")[1]]:
        for form in _encodings(token):
            assert form not in raw
    assert TOKEN_MARKER.encode() not in raw


def _read_files(folder: Path, pattern: str) -> bytes:
    return b"".join(p.read_bytes() for p in folder.glob(pattern))


def _encodings(token: str) -> list[bytes]:
    raw = token.encode()
    return [
        raw,
        raw.hex().encode(),
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
        token.encode("utf-16-le"),
    ]


def _bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


async def test_slow_down_raises_the_poll_interval(harness: Harness) -> None:
    harness.emulator.knobs.enforce_interval = True
    started = (await harness.client.post("/authai/auth/start", json={})).json()
    url = f"/authai/auth/poll/{started['sessionId']}"
    interval = started["pollIntervalMs"] / 1000
    provider = harness.authai.providers["openai"]
    await harness.client.get(url)  # asks upstream at t0
    harness.clock.advance(interval)
    # Someone else (a misbehaving client of the same device code) polls first...
    device = harness.emulator.device_authorizations()[-1]
    state = {"device_auth_id": device.device_auth_id, "user_code": device.user_code}
    assert (await provider.poll_device_login(state)).status == "pending"
    # ...so our poll is too early for the provider, which answers slow_down.
    slow_downs = harness.emulator.stats.slow_downs
    assert (await harness.client.get(url)).json() == {"status": "pending"}
    assert harness.emulator.stats.slow_downs == slow_downs + 1
    # We keep the longer interval: no upstream poll until interval + 5 s have passed.
    polls = harness.emulator.stats.device_polls
    harness.clock.advance(interval)
    assert (await harness.client.get(url)).json() == {"status": "pending"}
    assert harness.emulator.stats.device_polls == polls
    harness.clock.advance(5)
    harness.emulator.approve(started["userCode"])
    assert (await harness.client.get(url)).json()["status"] == "complete"


async def test_a_completed_login_gives_its_jwt_only_for_a_short_pickup_window(
    harness: Harness,
) -> None:
    from authai_embed.auth.logins import PICKUP_WINDOW

    started = (await harness.client.post("/authai/auth/start", json={})).json()
    url = f"/authai/auth/poll/{started['sessionId']}"
    harness.emulator.approve(started["userCode"])
    harness.clock.advance(5)
    jwt = (await harness.client.get(url)).json()["jwt"]
    harness.clock.advance(PICKUP_WINDOW - 1)
    assert (await harness.client.get(url)).json() == {"status": "complete", "jwt": jwt}
    harness.clock.advance(2)
    gone = await harness.client.get(url)
    assert gone.status_code == 404
    assert jwt not in gone.text
    assert (await harness.store.sweep(harness.clock.now())) >= 1


async def test_sweep_removes_expired_logins_and_records(harness: Harness) -> None:
    jwt = await harness.sign_in()
    await harness.client.post("/authai/auth/start", json={})
    assert await harness.authai.sweep() == 0
    settings = harness.authai.settings
    harness.clock.advance(settings.token_ttl + settings.record_grace + 1)
    assert await harness.authai.sweep() >= 3  # the record and both pending logins
    response = await harness.client.get("/authai/auth/whoami", headers=_bearer(jwt))
    assert response.status_code == 401


async def test_the_periodic_sweep_runs_while_the_app_runs_and_stops_with_it(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(sweep_interval=1)
    store = harness.store
    assert isinstance(store, MemoryStore | SQLiteStore)
    await harness.sign_in()
    settings = harness.authai.settings
    harness.clock.advance(settings.token_ttl + settings.record_grace + 1)
    with anyio.fail_after(10):
        while True:
            if not (await store.counts())["records"]:
                break
            await anyio.sleep(0.1)
    assert _sweepers(), "the sweep runs as a task while the app runs"
    with anyio.fail_after(10):
        await harness.authai.shutdown()
        await harness.authai.shutdown()  # idempotent
    assert _sweepers() == [], "shutdown leaves the periodic sweep running"


def _sweepers() -> list[asyncio.Task[object]]:
    """The periodic sweep tasks still running on this loop."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and "_sweep_every" in task.get_coro().__qualname__  # type: ignore[union-attr]
    ]
