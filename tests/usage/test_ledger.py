"""The usage ledger through `/v1`: every model call counted per user, provider, model and UTC
day from the upstream's own usage, streamed or not, on every path (Chat translated to
Responses, Chat passed through, Responses), written in batches, not per request."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from authai_embed import UsageRow
from authai_embed.testing import CodexReply
from tests._support.harness import START, Harness, HarnessFactory

pytestmark = pytest.mark.anyio

TODAY = "2027-01-15"  # START's UTC day
CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}
RESPONSES = {"model": "gpt-5.4", "input": [{"role": "user", "content": "hi"}]}
CALLS = [
    ("chat/completions", CHAT, False),
    ("chat/completions", CHAT, True),
    ("responses", RESPONSES, False),
    ("responses", RESPONSES, True),
]
CALL_IDS = ["chat", "chat-streamed", "responses", "responses-streamed"]


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


async def call(
    harness: Harness, jwt: str, path: str, body: dict[str, Any], stream: bool
) -> httpx.Response:
    return await harness.client.post(
        f"/authai/v1/{path}", headers=bearer(jwt), json={**body, "stream": stream}
    )


def frames(response: httpx.Response) -> list[Any]:
    """The JSON data of each SSE frame (`[DONE]` left out)."""
    out = []
    for line in response.text.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            out.append(json.loads(line[6:]))
    return out


async def test_the_day_is_the_clocks_utc_day() -> None:
    from authai_embed.usage.tally import utc_day

    assert utc_day(START) == TODAY


@pytest.mark.parametrize(("path", "body", "stream"), CALLS, ids=CALL_IDS)
async def test_a_call_is_counted_from_the_upstreams_usage(
    harness: Harness, path: str, body: dict[str, Any], stream: bool
) -> None:
    jwt = await harness.sign_in()
    user = (await harness.authai.whoami(jwt)).user_id
    whole = await call(harness, jwt, path, body, False)
    answer = whole.json()["usage"]
    response = await call(harness, jwt, path, body, stream)
    assert response.status_code == 200, response.text
    rows = await harness.authai.usage(user)
    assert len(rows) == 1
    row = rows[0]
    inputs = answer.get("input_tokens", answer.get("prompt_tokens"))
    outputs = answer.get("output_tokens", answer.get("completion_tokens"))
    assert inputs > 0
    assert outputs > 0
    assert row == UsageRow(
        user,
        "openai",
        "gpt-5.4",
        TODAY,
        requests=2,
        input_tokens=2 * inputs,
        output_tokens=2 * outputs,
        cached_input_tokens=row.cached_input_tokens,
        reasoning_tokens=row.reasoning_tokens,
    )


async def test_reasoning_and_cached_tokens_are_counted(harness: Harness) -> None:
    jwt = await harness.sign_in()
    user = (await harness.authai.whoami(jwt)).user_id
    usage = {
        "input_tokens": 120,
        "input_tokens_details": {"cached_tokens": 100},
        "output_tokens": 30,
        "output_tokens_details": {"reasoning_tokens": 25},
        "total_tokens": 150,
    }
    harness.emulator.codex.script(CodexReply(text="ok", usage=usage), CodexReply(usage=usage))
    assert (await call(harness, jwt, "responses", RESPONSES, True)).status_code == 200
    assert (await call(harness, jwt, "chat/completions", CHAT, True)).status_code == 200
    (row,) = await harness.authai.usage(user)
    assert (row.requests, row.input_tokens, row.cached_input_tokens) == (2, 240, 200)
    assert (row.output_tokens, row.reasoning_tokens) == (60, 50)


@pytest.mark.parametrize("asked", [False, True], ids=["not-asked", "asked"])
async def test_a_passed_through_chat_stream_is_counted_and_keeps_its_shape(
    harness: Harness, asked: bool
) -> None:
    jwt = await harness.sign_in(provider="github")
    user = (await harness.authai.whoami(jwt)).user_id
    body: dict[str, Any] = {**CHAT, "model": "claude-sonnet-4.5"}
    if asked:
        body["stream_options"] = {"include_usage": True}
    response = await call(harness, jwt, "chat/completions", body, True)
    assert response.status_code == 200, response.text
    assert response.text.endswith("data: [DONE]\n\n")
    chunks = frames(response)
    usage_chunks = [c for c in chunks if c.get("usage")]
    assert len(usage_chunks) == (1 if asked else 0)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    (row,) = await harness.authai.usage(user)
    assert (row.provider, row.model, row.requests) == ("github", "claude-sonnet-4.5", 1)
    assert row.input_tokens > 0
    assert row.output_tokens > 0
    if asked:
        assert row.output_tokens == usage_chunks[0]["usage"]["completion_tokens"]


async def test_an_upstream_429_is_counted_as_an_error_and_a_429(harness: Harness) -> None:
    jwt = await harness.sign_in()
    user = (await harness.authai.whoami(jwt)).user_id
    harness.emulator.codex.knobs.usage_limit_reached = True
    response = await call(harness, jwt, "chat/completions", CHAT, True)
    assert response.status_code == 429
    (row,) = await harness.authai.usage(user)
    assert (row.requests, row.errors, row.rate_limited, row.input_tokens) == (1, 1, 1, 0)


async def test_calls_are_written_in_batches_not_one_by_one(harness: Harness) -> None:
    jwt = await harness.sign_in()
    metering = harness.authai.metering
    assert metering is not None
    for _ in range(5):
        assert (await call(harness, jwt, "chat/completions", CHAT, False)).status_code == 200
    assert metering.ledger.flushes == 0  # nothing written yet: held in memory
    user = (await harness.authai.whoami(jwt)).user_id
    (row,) = await harness.authai.usage(user)
    assert row.requests == 5
    assert metering.ledger.flushes == 1


async def test_a_batch_is_written_after_flush_calls_calls(make_harness: HarnessFactory) -> None:
    harness = await make_harness(usage_flush_calls=3)
    jwt = await harness.sign_in()
    for _ in range(3):
        assert (await call(harness, jwt, "chat/completions", CHAT, False)).status_code == 200
    metering = harness.authai.metering
    assert metering is not None
    flushing = metering.ledger.pending_flush  # the batch is written by a task of its own
    assert flushing is not None
    await flushing
    assert metering.ledger.flushes == 1
    user = (await harness.authai.whoami(jwt)).user_id
    assert [r.requests for r in await harness.store.get_usage(user, TODAY, TODAY)] == [3]


async def test_the_shutdown_flush_writes_what_is_held(make_harness: HarnessFactory) -> None:
    harness = await make_harness()
    jwt = await harness.sign_in()
    user = (await harness.authai.whoami(jwt)).user_id
    assert (await call(harness, jwt, "responses", RESPONSES, True)).status_code == 200
    await harness.authai.shutdown()
    await harness.store.open()
    try:
        assert [r.requests for r in await harness.store.get_usage(user, TODAY, TODAY)] == [1]
    finally:
        await harness.store.close()


async def test_the_sweep_drops_usage_past_its_retention(make_harness: HarnessFactory) -> None:
    harness = await make_harness(usage_retention_days=2)
    jwt = await harness.sign_in()
    user = (await harness.authai.whoami(jwt)).user_id
    assert (await call(harness, jwt, "chat/completions", CHAT, False)).status_code == 200
    assert len(await harness.authai.usage(user)) == 1
    harness.clock.advance(2 * 86400)
    await harness.authai.sweep()
    assert await harness.authai.usage(user, since=TODAY) == [
        r for r in await harness.authai.usage(user, since=TODAY) if r.day == TODAY
    ]
    harness.clock.advance(86400)
    await harness.authai.sweep()
    assert await harness.authai.usage(user, since=TODAY) == []


async def test_with_the_ledger_off_nothing_is_counted(make_harness: HarnessFactory) -> None:
    harness = await make_harness(usage_ledger=False)
    assert harness.authai.metering is None
    jwt = await harness.sign_in()
    assert (await call(harness, jwt, "chat/completions", CHAT, True)).status_code == 200
    user = (await harness.authai.whoami(jwt)).user_id
    assert await harness.authai.usage(user) == []
