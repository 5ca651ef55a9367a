"""The plan's usage limits through `/v1`, whichever of its three shapes the Codex backend uses
(a 429, a 404, a 200 stream failing after its opening events): always our 429 with
`Retry-After`, before any byte of a stream; the `x-codex-*` headers kept per account; and a
`token_invalidated` 401 refreshed once and retried."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from authai_embed.providers.openai.backend import CodexBackend
from authai_embed.providers.openai.limits import LimitWindow
from authai_embed.providers.plan import PlanCredits
from authai_embed.testing import CodexReply
from tests._support.harness import Harness

pytestmark = pytest.mark.anyio

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


async def call(harness: Harness, jwt: str, path: str, body: Any, stream: bool) -> httpx.Response:
    return await harness.client.post(
        f"/authai/v1/{path}", headers=bearer(jwt), json={**body, "stream": stream}
    )


def assert_limit(response: httpx.Response, code: str, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["retry-after"] == str(retry_after)
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("provider_error", code)


@pytest.mark.parametrize(("path", "body", "stream"), CALLS, ids=CALL_IDS)
@pytest.mark.parametrize("shape", ["429", "404"])
async def test_an_http_usage_limit_is_a_429_until_the_reset(
    harness: Harness, path: str, body: Any, stream: bool, shape: Any
) -> None:
    jwt = await harness.sign_in()
    knobs = harness.emulator.codex.knobs
    knobs.usage_limit_reached, knobs.usage_limit_shape = True, shape
    knobs.usage_limit_resets_in = 1800
    response = await call(harness, jwt, path, body, stream)
    assert_limit(response, "usage_limit_reached", 1800)
    assert "resets at" in response.json()["error"]["message"]


async def test_a_plan_without_codex_is_a_429_saying_so(harness: Harness) -> None:
    jwt = await harness.sign_in()
    knobs = harness.emulator.codex.knobs
    knobs.usage_limit_reached, knobs.usage_limit_shape = True, "404"
    knobs.usage_limit_code = "usage_not_included"
    response = await call(harness, jwt, "chat/completions", CHAT, False)
    assert_limit(response, "usage_not_included", 3600)
    assert "does not include Codex" in response.json()["error"]["message"]


@pytest.mark.parametrize(("path", "body", "stream"), CALLS, ids=CALL_IDS)
@pytest.mark.parametrize(
    ("code", "retry_after"), [("rate_limit_exceeded", 20), ("server_is_overloaded", 60)]
)
async def test_a_stream_failing_with_a_limit_is_a_429_before_any_byte(
    harness: Harness, path: str, body: Any, stream: bool, code: Any, retry_after: int
) -> None:
    jwt = await harness.sign_in()
    knobs = harness.emulator.codex.knobs
    knobs.usage_limit_reached, knobs.usage_limit_shape = True, "stream"
    knobs.stream_limit_code, knobs.usage_limit_resets_in = code, 20
    response = await call(harness, jwt, path, body, stream)
    assert_limit(response, code, retry_after)
    assert harness.emulator.codex.stats.events[-1] == "response.failed"
    knobs.usage_limit_reached = False
    assert (await call(harness, jwt, path, body, stream)).status_code == 200


async def test_a_limit_after_the_answer_began_is_a_429_unless_bytes_were_sent(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in()
    late = CodexReply(
        text="half an answer",
        finish="failed",
        error_code="rate_limit_exceeded",
        error_message="Rate limit reached. Please try again in 1.5s.",
    )
    harness.emulator.codex.script(late, late)
    whole = await call(harness, jwt, "chat/completions", CHAT, False)
    assert_limit(whole, "rate_limit_exceeded", 2)
    streamed = await call(harness, jwt, "chat/completions", CHAT, True)
    assert streamed.status_code == 200
    data = [line[6:] for line in streamed.text.splitlines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    assert json.loads(data[-2])["error"]["code"] == "rate_limit_exceeded"


async def test_other_failures_in_the_opening_still_stream_their_error(harness: Harness) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.script(CodexReply(text="", finish="failed", error_code="server_error"))
    response = await call(harness, jwt, "responses", RESPONSES, True)
    assert response.status_code == 200
    assert response.text.startswith("event: response.created")
    assert "event: response.failed" in response.text


async def test_every_answer_updates_the_accounts_usage_snapshot(harness: Harness) -> None:
    jwt = await harness.sign_in()
    backend = harness.authai.providers["openai"].backend
    assert isinstance(backend, CodexBackend)
    account = harness.emulator.default_account.account_id
    assert backend.usage_snapshot(account) is None
    knobs = harness.emulator.codex.knobs
    knobs.primary_used_percent, knobs.credits_has_credits = 42.5, True
    knobs.credits_balance = "7.25"
    assert (await call(harness, jwt, "chat/completions", CHAT, False)).status_code == 200
    snapshot = backend.usage_snapshot(account)
    assert snapshot is not None
    now = harness.clock.now()
    assert snapshot.primary == LimitWindow(42.5, 300, int(now) + 3 * 3600)
    assert snapshot.secondary == LimitWindow(4.0, 7 * 24 * 60, int(now) + 4 * 24 * 3600)
    assert snapshot.credits == PlanCredits(has_credits=True, unlimited=False, balance="7.25")
    assert snapshot.plan_type == "plus"
    assert snapshot.seen_at == now

    knobs.usage_limit_reached = True
    assert (await call(harness, jwt, "responses", RESPONSES, True)).status_code == 429
    limited = backend.usage_snapshot(account)
    assert limited is not None
    assert limited.primary is not None
    assert (limited.primary.used_percent, limited.active_limit) == (100.0, "codex")


async def test_a_token_invalidated_401_refreshes_once_and_retries(harness: Harness) -> None:
    jwt = await harness.sign_in()
    for number, (path, body, stream) in enumerate(CALLS, start=1):
        session = await harness.authai.sessions.open_session(jwt)
        assert harness.emulator.revoke_token(session.credentials.access)
        response = await call(harness, jwt, path, body, stream)
        assert response.status_code == 200, (path, stream)
        assert "Echo: hi" in response.text
        assert harness.emulator.stats.refreshes == number
        rejected = [r for r in harness.emulator.codex.requests if r.status == 401]
        assert len(rejected) == number
