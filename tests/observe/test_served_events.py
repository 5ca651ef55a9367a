"""Events of the `/v1` path: a provider's limit and its reset, and bursts of upstream errors;
none carries a secret."""

from __future__ import annotations

import pytest

from authai_embed import LimitReached, LimitReset, ProviderErrorBurst
from authai_embed.observe.watch import BURST_ERRORS, BURST_WINDOW, ErrorBursts, LimitWatch
from authai_embed.testing import CodexReply
from tests._support.events import Recorder, assert_no_secret, secrets_of
from tests._support.harness import Harness, HarnessFactory

pytestmark = pytest.mark.anyio

CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hello"}]}


async def chat(harness: Harness, jwt: str) -> int:
    response = await harness.client.post(
        "/authai/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {jwt}"}
    )
    return response.status_code


async def test_a_usage_limit_emits_limit_reached_then_limit_reset_after_the_reset(
    make_harness: HarnessFactory,
) -> None:
    recorder = Recorder()
    harness = await make_harness(on_event=recorder)
    jwt = await harness.sign_in()
    user = (await harness.authai.whoami(jwt)).user_id
    knobs = harness.emulator.codex.knobs
    knobs.usage_limit_reached, knobs.usage_limit_resets_in = True, 1800
    assert await chat(harness, jwt) == 429
    knobs.usage_limit_reached = False
    harness.clock.advance(60)
    assert await chat(harness, jwt) == 200  # before the reset time: no reset yet
    await harness.authai.events.flush()
    [reached] = recorder.of(LimitReached)
    assert isinstance(reached, LimitReached)
    assert (reached.user_id, reached.provider, reached.code) == (
        user,
        "openai",
        "usage_limit_reached",
    )
    assert reached.retry_after == 1800
    assert not recorder.of(LimitReset)
    harness.clock.advance(1800)
    assert await chat(harness, jwt) == 200
    assert await chat(harness, jwt) == 200
    await harness.authai.events.flush()
    resets = recorder.of(LimitReset)
    assert resets == [LimitReset(user, "openai", harness.clock.now())]
    assert_no_secret(recorder.events, await secrets_of(harness, jwt))


async def test_upstream_5xx_burst_is_reported_once_per_window(make_harness: HarnessFactory) -> None:
    recorder = Recorder()
    harness = await make_harness(on_event=recorder)
    jwt = await harness.sign_in()
    for _ in range(BURST_ERRORS * 2):
        harness.emulator.codex.script(CodexReply.http_error(500))
        assert await chat(harness, jwt) == 502
    await harness.authai.events.flush()
    bursts = recorder.of(ProviderErrorBurst)
    assert bursts == [
        ProviderErrorBurst(None, "openai", harness.clock.now(), BURST_ERRORS, BURST_WINDOW)
    ]
    assert_no_secret(recorder.events, await secrets_of(harness, jwt))


def test_error_bursts_need_the_errors_within_the_window() -> None:
    bursts = ErrorBursts(errors=3, window=10.0)
    assert bursts.failed("openai", 0.0) is None
    assert bursts.failed("openai", 5.0) is None
    assert bursts.failed("openai", 11.0) is None  # the first is out of the window
    assert bursts.failed("github", 11.0) is None
    burst = bursts.failed("openai", 12.0)
    assert burst is not None
    assert (burst.provider, burst.errors) == ("openai", 3)
    assert bursts.failed("openai", 13.0) is None  # once per window
    assert bursts.failed("openai", 22.0) is not None  # a new window, still failing


def test_a_limit_without_a_reset_time_resets_on_the_next_success() -> None:
    limits = LimitWatch()
    limits.reached("u", "openai", 100.0, "rate_limit_exceeded", None)
    assert limits.succeeded("u", "github", 101.0) is None
    assert limits.succeeded("u", "openai", 101.0) == LimitReset("u", "openai", 101.0)
    assert limits.succeeded("u", "openai", 102.0) is None
