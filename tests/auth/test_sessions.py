"""Refresh when due, once per record however many callers, re-sealed in place; rejection ends
the session cleanly."""

from __future__ import annotations

import anyio
import pytest

from authai_embed import Unauthorized
from authai_embed.auth.sessions import Session
from tests._support.harness import Harness, HarnessFactory

pytestmark = pytest.mark.anyio


async def _expire_soon(harness: Harness) -> None:
    harness.clock.advance(3600 - harness.authai.settings.refresh_margin + 1)


async def test_fresh_tokens_are_not_refreshed(harness: Harness) -> None:
    jwt = await harness.sign_in()
    session = await harness.authai.sessions.usable_session(jwt)
    assert session.record.version == 1
    assert harness.emulator.stats.refreshes == 0


async def test_tokens_near_expiry_are_refreshed_and_resealed_in_place(harness: Harness) -> None:
    jwt = await harness.sign_in()
    before = await harness.authai.sessions.open_session(jwt)
    await _expire_soon(harness)
    after = await harness.authai.sessions.usable_session(jwt)
    assert harness.emulator.stats.refreshes == 1
    assert after.record.id == before.record.id
    assert after.record.version == before.record.version + 1
    assert after.record.iv != before.record.iv
    assert after.credentials.access != before.credentials.access
    assert after.credentials.refresh != before.credentials.refresh
    assert harness.emulator.check_access_token(after.credentials.access) is not None
    # The same JWT opens the re-sealed record; the user id is unchanged.
    again = await harness.authai.sessions.open_session(jwt)
    assert again.credentials == after.credentials
    assert again.user_id == before.user_id


async def test_concurrent_callers_cause_one_refresh_and_share_its_tokens(harness: Harness) -> None:
    jwt = await harness.sign_in()
    await _expire_soon(harness)
    results: list[Session] = []

    async def call() -> None:
        results.append(await harness.authai.sessions.usable_session(jwt))

    async with anyio.create_task_group() as tg:
        for _ in range(25):
            tg.start_soon(call)
    assert harness.emulator.stats.refreshes == 1
    assert harness.emulator.stats.rejected_refreshes == 0
    assert len({s.credentials.access for s in results}) == 1


async def test_two_authai_instances_on_one_store_refresh_once(
    harness: Harness, make_harness: HarnessFactory
) -> None:
    other = await make_harness()  # a second "process": its own AuthAI, locks and lease owner id
    jwt = await harness.sign_in()
    await _expire_soon(harness)
    results: list[Session] = []

    async def call(h: Harness) -> None:
        results.append(await h.authai.sessions.usable_session(jwt))

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(call, harness if i % 2 else other)
    assert harness.emulator.stats.refreshes == 1
    assert len({s.credentials.access for s in results}) == 1


async def test_forced_refresh_after_a_401_is_skipped_if_someone_already_refreshed(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in()
    stale = await harness.authai.sessions.open_session(jwt)
    first = await harness.authai.sessions.refresh(stale, force=True)
    second = await harness.authai.sessions.refresh(stale, force=True)
    assert harness.emulator.stats.refreshes == 1
    assert second.credentials == first.credentials


async def test_a_rejected_refresh_deletes_the_record_and_is_the_uniform_401(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in()
    session = await harness.authai.sessions.open_session(jwt)
    harness.emulator.revoke_account(harness.emulator.default_account.account_id)
    await _expire_soon(harness)
    with pytest.raises(Unauthorized):
        await harness.authai.sessions.usable_session(jwt)
    assert await harness.store.get_record(session.record.id) is None
    response = await harness.client.get(
        "/authai/auth/whoami", headers={"Authorization": f"Bearer {jwt}"}
    )
    assert (response.status_code, response.content) == (401, b'{"error":"unauthorized"}')


async def test_a_cancelled_caller_does_not_lose_the_rotated_tokens(harness: Harness) -> None:
    jwt = await harness.sign_in()
    await _expire_soon(harness)
    with anyio.move_on_after(0):  # the caller gives up at once
        await harness.authai.sessions.usable_session(jwt)
    # Whether or not the refresh ran before the cancel, the next call must work.
    session = await harness.authai.sessions.usable_session(jwt)
    assert harness.emulator.check_access_token(session.credentials.access) is not None
    assert harness.emulator.stats.rejected_refreshes == 0


async def test_a_failing_early_refresh_falls_back_to_the_still_valid_token(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in()
    before = await harness.authai.sessions.open_session(jwt)
    await _expire_soon(harness)
    original = harness.authai.providers["openai"]

    class Broken:
        id, display_name = original.id, original.display_name

        async def refresh(self, credentials: object) -> object:
            from authai_embed import UpstreamError

            raise UpstreamError("auth server down", status=502)

    harness.authai.sessions._providers = {"openai": Broken()}  # type: ignore[dict-item]
    session = await harness.authai.sessions.usable_session(jwt)
    assert session.credentials == before.credentials


async def test_the_refresh_margin_is_a_setting(make_harness: HarnessFactory) -> None:
    harness = await make_harness(refresh_margin=1200)
    jwt = await harness.sign_in()
    harness.clock.advance(3600 - 1300)
    assert (await harness.authai.sessions.usable_session(jwt)).record.version == 1
    harness.clock.advance(101)
    assert (await harness.authai.sessions.usable_session(jwt)).record.version == 2
    assert harness.emulator.stats.refreshes == 1


async def test_tokens_shorter_lived_than_the_margin_refresh_at_half_their_life(
    harness: Harness,
) -> None:
    harness.emulator.knobs.access_ttl = 120  # shorter than the 300 s margin
    jwt = await harness.sign_in()
    sessions = harness.authai.sessions
    for _ in range(3):
        assert (await sessions.usable_session(jwt)).record.version == 1
    harness.clock.advance(59)
    assert (await sessions.usable_session(jwt)).record.version == 1
    harness.clock.advance(2)
    assert (await sessions.usable_session(jwt)).record.version == 2
    assert (await sessions.usable_session(jwt)).record.version == 2
    assert harness.emulator.stats.refreshes == 1


@pytest.mark.parametrize("provider", ["openai", "xai"])
async def test_a_token_answer_without_expires_in_is_timed_by_the_tokens_exp_claim(
    harness: Harness, provider: str
) -> None:
    harness.emulator.knobs.expires_in = "absent"
    harness.emulator.xai.knobs.expires_in = "zero"
    harness.emulator.knobs.access_ttl = 1800
    harness.emulator.xai.knobs.access_ttl = 1800
    jwt = await harness.sign_in(provider=provider)
    session = await harness.authai.sessions.open_session(jwt)
    assert session.credentials.expires_at == harness.clock.now() + 1800
    harness.clock.advance(1800 - 300 + 1)
    assert (await harness.authai.sessions.usable_session(jwt)).record.version == 2
