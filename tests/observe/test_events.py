"""Events: each one is emitted at the moment it names, to every handler, in the background,
and never carries a token, a JWT or a session key."""

from __future__ import annotations

import asyncio
import logging

import pytest

from authai_embed import (
    ConfigError,
    Event,
    QuotaExceededEvent,
    ReauthRequired,
    Revoked,
    SignedIn,
    SignedOut,
    event_payload,
)
from authai_embed.observe.bus import EventBus, handlers_of
from tests._support.events import Recorder, assert_no_secret, secrets_of
from tests._support.harness import Harness, HarnessFactory

pytestmark = pytest.mark.anyio

CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hello"}]}


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


async def recorded(make_harness: HarnessFactory, **options: object) -> tuple[Harness, Recorder]:
    recorder = Recorder()
    harness = await make_harness(on_event=recorder, **options)
    await harness.authai.startup()
    return harness, recorder


async def test_a_sign_in_emits_signed_in_with_the_user_and_session(
    make_harness: HarnessFactory,
) -> None:
    harness, recorder = await recorded(make_harness)
    jwt = await harness.sign_in()
    await harness.authai.events.flush()
    who = await harness.authai.whoami(jwt)
    [event] = recorder.of(SignedIn)
    assert isinstance(event, SignedIn)
    assert (event.user_id, event.provider, event.at) == (who.user_id, "openai", harness.clock.now())
    [info] = await harness.authai.list_sessions(who.user_id)
    assert event.session_id == info.session_id
    assert_no_secret(recorder.events, await secrets_of(harness, jwt))


async def test_sign_out_revoke_all_and_end_by_id_emit_signed_out_with_their_reason(
    make_harness: HarnessFactory,
) -> None:
    harness, recorder = await recorded(make_harness)
    jwts = [await harness.sign_in() for _ in range(4)]
    tokens = [s for jwt in jwts for s in await secrets_of(harness, jwt)]
    user = (await harness.authai.whoami(jwts[0])).user_id
    out = await harness.client.post("/authai/auth/revoke", headers=bearer(jwts[0]))
    assert out.status_code == 204
    listing = await harness.client.get("/authai/auth/sessions", headers=bearer(jwts[1]))
    other = next(s["id"] for s in listing.json()["sessions"] if not s["current"])
    ended = await harness.client.delete(f"/authai/auth/sessions/{other}", headers=bearer(jwts[1]))
    assert ended.status_code == 204
    everywhere = await harness.client.post("/authai/auth/revoke-all", headers=bearer(jwts[1]))
    assert everywhere.status_code == 204
    await harness.authai.events.flush()
    outs = recorder.of(SignedOut)
    reasons = [e.reason for e in outs if isinstance(e, SignedOut)]
    assert reasons == ["signed_out", "ended", "signed_out_everywhere", "signed_out_everywhere"]
    assert {e.user_id for e in outs} == {user}
    assert other in {e.session_id for e in outs if isinstance(e, SignedOut)}
    assert_no_secret(recorder.events, tokens)


async def test_the_session_limit_pushing_out_a_session_is_signed_out(
    make_harness: HarnessFactory,
) -> None:
    harness, recorder = await recorded(make_harness, max_sessions_per_user=1)
    await harness.sign_in()
    await harness.sign_in()
    await harness.authai.events.flush()
    [event] = recorder.of(SignedOut)
    assert isinstance(event, SignedOut)
    assert event.reason == "session_limit"
    first, _second = recorder.of(SignedIn)
    assert isinstance(first, SignedIn)
    assert event.session_id == first.session_id


async def test_an_administrators_revocation_is_revoked_not_signed_out(
    make_harness: HarnessFactory,
) -> None:
    harness, recorder = await recorded(make_harness)
    jwt = await harness.sign_in()
    user = (await harness.authai.whoami(jwt)).user_id
    secrets = await secrets_of(harness, jwt)
    assert await harness.authai.sessions.accounts.end_all(user, reason="admin") == 1
    await harness.authai.events.flush()
    [event] = recorder.of(Revoked)
    assert isinstance(event, Revoked)
    assert event.user_id == user
    assert recorder.of(SignedOut) == []
    assert_no_secret(recorder.events, secrets)


async def test_a_refresh_the_provider_refuses_emits_reauth_required(
    make_harness: HarnessFactory,
) -> None:
    harness, recorder = await recorded(make_harness)
    jwt = await harness.sign_in()
    secrets = await secrets_of(harness, jwt)
    user = (await harness.authai.whoami(jwt)).user_id
    harness.emulator.revoke_account(harness.emulator.default_account.account_id)
    harness.clock.advance(3600)  # the access token is due for a refresh
    response = await harness.client.post(
        "/authai/v1/chat/completions", json=CHAT, headers=bearer(jwt)
    )
    assert response.status_code == 401
    await harness.authai.events.flush()
    [event] = recorder.of(ReauthRequired)
    assert isinstance(event, ReauthRequired)
    assert (event.user_id, event.provider) == (user, "openai")
    assert_no_secret(recorder.events, secrets)


async def test_quota_exceeded_is_emitted_through_the_quota_hook(
    make_harness: HarnessFactory,
) -> None:
    harness, recorder = await recorded(make_harness)
    harness.authai.events.quota_exceeded("user-1", "openai", "tokens_per_day", limit=10, used=12)
    await harness.authai.events.flush()
    assert recorder.events == [
        QuotaExceededEvent("user-1", "openai", harness.clock.now(), "tokens_per_day", 10, 12)
    ]
    assert event_payload(recorder.events[0]) == {
        "type": "quota_exceeded",
        "user_id": "user-1",
        "provider": "openai",
        "at": harness.clock.now(),
        "quota": "tokens_per_day",
        "limit": 10,
        "used": 12,
    }


async def test_every_handler_gets_every_event_and_a_failing_one_fails_nothing(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = Recorder(), Recorder()

    async def broken(event: Event) -> None:
        raise RuntimeError("handler bug with sk-this-is-not-logged-0123456789")

    harness = await make_harness(on_event=[first, broken, second])
    with caplog.at_level(logging.WARNING, logger="authai_embed"):
        jwt = await harness.sign_in()
        await harness.authai.events.flush()
    assert jwt
    assert [type(e) for e in first.events] == [SignedIn] == [type(e) for e in second.events]
    assert "event handler" in caplog.text
    assert "RuntimeError" in caplog.text
    assert "sk-this-is-not-logged" not in caplog.text


async def test_a_slow_handler_does_not_hold_up_requests(make_harness: HarnessFactory) -> None:
    release = asyncio.Event()
    seen: list[Event] = []

    async def slow(event: Event) -> None:
        await release.wait()
        seen.append(event)

    harness = await make_harness(on_event=slow)
    jwt = await harness.sign_in()  # completes while the handler is still waiting
    out = await harness.client.post("/authai/auth/revoke", headers=bearer(jwt))
    assert out.status_code == 204
    assert seen == []
    release.set()
    await harness.authai.events.flush()
    assert [e.type for e in seen] == ["signed_in", "signed_out"]


async def test_a_full_queue_drops_events_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus([Recorder()], max_queue=1)
    with caplog.at_level(logging.WARNING, logger="authai_embed"):
        bus.quota_exceeded("u", "openai", "q")
        bus.quota_exceeded("u", "openai", "q")
    assert bus.dropped == 1
    assert "dropped a quota_exceeded event" in caplog.text


async def test_shutdown_hands_on_what_is_queued(make_harness: HarnessFactory) -> None:
    recorder = Recorder()
    harness = await make_harness(on_event=recorder)
    await harness.authai.startup()
    harness.authai.events.quota_exceeded("u", "openai", "q")
    await harness.authai.shutdown()
    assert [e.type for e in recorder.events] == ["quota_exceeded"]


async def test_without_handlers_nothing_is_queued() -> None:
    bus = EventBus()
    bus.quota_exceeded("u", "openai", "q")
    assert not bus.active
    assert bus.dropped == 0
    bus.start()
    await bus.flush()
    await bus.stop()


def test_on_event_must_be_async_callables() -> None:
    for wrong in (42, ["not a handler"]):
        with pytest.raises(ConfigError, match="on_event"):
            handlers_of(wrong)  # type: ignore[arg-type]


async def test_a_handler_past_its_time_is_given_up_on_and_the_next_still_runs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from authai_embed.observe import bus as bus_module

    monkeypatch.setattr(bus_module, "HANDLER_TIMEOUT", 0.05)

    async def stuck(event: Event) -> None:
        await asyncio.Event().wait()

    recorder = Recorder()
    bus = EventBus([stuck, recorder])
    bus.start()
    with caplog.at_level(logging.WARNING, logger="authai_embed"):
        bus.quota_exceeded("u", "openai", "q")
        await asyncio.wait_for(bus.flush(), 5)
    await bus.stop()
    assert [e.type for e in recorder.events] == ["quota_exceeded"]
    assert "event handler" in caplog.text
    assert "stuck" in caplog.text
    assert "took over" in caplog.text
