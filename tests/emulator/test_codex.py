"""The emulator's model side (ChatGPT's Codex backend), spoken to over HTTP as the real one is."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from authai_embed._util.clock import Clock
from authai_embed.credentials import Credentials
from authai_embed.providers.openai.backend import CodexBackend as CodexClient
from authai_embed.settings import OpenAIUpstream
from authai_embed.testing import CodexReply, Emulator, FunctionCall, ManualClock
from authai_embed.testing.model.stream import MALFORMED_FRAME
from authai_embed.types import Message

ISSUER = "http://auth.emulator.test"
API = "http://chatgpt.emulator.test/backend-api/codex"
CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
START = 1_800_000_000.0

pytestmark = pytest.mark.anyio

Event = tuple[str, Any]


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=emulator)
    async with httpx.AsyncClient(transport=transport, base_url=API) as http:
        yield http


async def sign_in(client: httpx.AsyncClient, emulator: Emulator) -> dict[str, Any]:
    """The emulator's own device flow, start to tokens."""
    started = await client.post(
        f"{ISSUER}/api/accounts/deviceauth/usercode", json={"client_id": CLIENT_ID}
    )
    emulator.approve(started.json()["user_code"])
    grant = await client.post(
        f"{ISSUER}/api/accounts/deviceauth/token",
        json={k: started.json()[k] for k in ("device_auth_id", "user_code")},
    )
    tokens = await client.post(
        f"{ISSUER}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": grant.json()["authorization_code"],
            "redirect_uri": f"{ISSUER}/deviceauth/callback",
            "client_id": CLIENT_ID,
            "code_verifier": grant.json()["code_verifier"],
        },
    )
    assert tokens.status_code == 200, tokens.text
    result: dict[str, Any] = tokens.json()
    return result


@pytest.fixture
async def access(client: httpx.AsyncClient, emulator: Emulator) -> str:
    token: str = (await sign_in(client, emulator))["access_token"]
    return token


@pytest.fixture
def headers(access: str, emulator: Emulator) -> dict[str, str]:
    return {
        "authorization": f"Bearer {access}",
        "chatgpt-account-id": emulator.default_account.account_id,
        "openai-beta": "responses=experimental",
        "originator": "authai_test",
        "session_id": "0b6c2f9e-6a8b-4d0e-9a57-3c1a5e0c7f11",
        "accept": "text/event-stream",
    }


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def body(**fields: Any) -> dict[str, Any]:
    return {
        "model": "gpt-5.4",
        "instructions": "You are a test.",
        "input": [user("hello")],
        "stream": True,
        "store": False,
        **fields,
    }


def parse_sse(raw: bytes) -> list[Event]:
    """Frames as (event, parsed data); a data line that is not JSON is kept as text."""
    events: list[Event] = []
    for frame in raw.decode().split("\n\n"):
        if not frame:
            continue
        lines = dict(line.split(": ", 1) for line in frame.split("\n"))
        try:
            events.append((lines["event"], json.loads(lines["data"])))
        except ValueError:
            events.append((lines["event"], lines["data"]))
    return events


async def stream(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> list[Event]:
    response = await client.post("/responses", json=body(**fields), headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/event-stream"
    return parse_sse(response.content)


def types(events: list[Event]) -> list[str]:
    return [name for name, _ in events]


def text_of(events: list[Event], kind: str = "response.output_text.delta") -> str:
    return "".join(data["delta"] for name, data in events if name == kind)


def items_of(events: list[Event]) -> list[Any]:
    """The finished output items: the terminal event's `output` is `[]`, as the real one's."""
    assert events[-1][1]["response"]["output"] == []
    return [data["item"] for name, data in events if name == "response.output_item.done"]


# The stream ----------------------------------------------------------------------------------


async def test_default_answer_streams_the_real_event_sequence(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    response = await client.post("/responses", json=body(), headers=headers)
    events = parse_sse(response.content)
    assert types(events) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 2,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    assert all(data["type"] == name for name, data in events)
    assert [data["delta"] for name, data in events if name.endswith("text.delta")] == [
        "Echo: he",
        "llo",
    ]
    created = events[0][1]["response"]
    assert created["status"] == "in_progress"
    assert created["model"] == "gpt-5.4"
    assert created["output"] == []
    assert created["id"].startswith("resp_")
    added = events[2][1]["item"]
    assert added["type"] == "message"
    assert added["role"] == "assistant"
    assert added["id"].startswith("msg_")
    delta = events[4][1]
    assert (delta["item_id"], delta["output_index"], delta["content_index"]) == (added["id"], 0, 0)
    assert events[6][1]["text"] == "Echo: hello"
    done = events[-1][1]["response"]
    assert done["status"] == "completed"
    assert done["id"] == created["id"]
    assert items_of(events)[0]["content"][0] == {
        "type": "output_text",
        "annotations": [],
        "logprobs": [],
        "text": "Echo: hello",
    }
    usage = done["usage"]
    assert set(usage) == {
        "input_tokens",
        "input_tokens_details",
        "output_tokens",
        "output_tokens_details",
        "total_tokens",
    }
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] == 3  # "Echo: hello" is 11 characters
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["output_tokens_details"] == {"reasoning_tokens": 0}
    assert response.headers["x-codex-primary-used-percent"] == "12"
    assert response.headers["x-codex-primary-window-minutes"] == "300"
    assert response.headers["x-codex-primary-reset-at"] == str(int(START) + 3 * 3600)
    assert response.headers["x-codex-secondary-window-minutes"] == "10080"
    assert emulator.codex.stats.completed_streams == 1
    assert emulator.codex.stats.open_streams == 0
    assert emulator.codex.stats.events == types(events)


async def test_knobs_set_the_delta_size_and_the_rate_limit_headers(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.knobs.chunk_size = 1
    emulator.codex.knobs.primary_used_percent = 87.5
    response = await client.post("/responses", json=body(), headers=headers)
    events = parse_sse(response.content)
    assert types(events).count("response.output_text.delta") == len("Echo: hello")
    assert response.headers["x-codex-primary-used-percent"] == "87.5"


async def test_the_same_conversation_gets_cached_prompt_tokens(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    first = await stream(client, headers, prompt_cache_key="conv-1")
    second = await stream(client, headers, prompt_cache_key="conv-1")
    other = await stream(client, headers, prompt_cache_key="conv-2")
    cached = [
        e[-1][1]["response"]["usage"]["input_tokens_details"]["cached_tokens"]
        for e in (first, second, other)
    ]
    assert cached[0] == 0
    assert cached[1] > 0
    assert cached[2] == 0


async def test_reasoning_summary_streams_a_reasoning_item_first(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.script(text="Paris.", reasoning="Thinking about capitals.")
    events = await stream(
        client,
        headers,
        reasoning={"effort": "high", "summary": "auto"},
        include=["reasoning.encrypted_content"],
    )
    assert types(events)[:9] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        *["response.reasoning_summary_text.delta"] * 3,
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
    ]
    assert events[2][1]["item"] == {
        "id": events[2][1]["item"]["id"],
        "type": "reasoning",
        "summary": [],
    }
    assert text_of(events, "response.reasoning_summary_text.delta") == "Thinking about capitals."
    assert events[4][1]["summary_index"] == 0
    reasoning = events[9][1]["item"]
    assert events[9][0] == "response.output_item.done"
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Thinking about capitals."}]
    assert reasoning["encrypted_content"].startswith("gAAAAA")
    message = events[10][1]
    assert message["output_index"] == 1
    assert text_of(events) == "Paris."
    done = events[-1][1]["response"]
    assert done["usage"]["output_tokens_details"]["reasoning_tokens"] > 0
    assert [item["type"] for item in items_of(events)] == ["reasoning", "message"]

    # The reasoning item travels back on the next turn, statelessly: without its id.
    with_id = await client.post("/responses", json=body(input=[reasoning]), headers=headers)
    assert with_id.status_code == 404
    assert with_id.json()["error"]["message"].startswith(f"Item with id '{reasoning['id']}'")
    reasoning = {k: v for k, v in reasoning.items() if k != "id"}
    history = [
        user("capital?"),
        reasoning,
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Paris."}],
        },
        user("sure?"),
    ]
    assert text_of(await stream(client, headers, input=history)) == "Echo: sure?"
    forged = {**reasoning, "encrypted_content": "gAAAAAforged"}
    response = await client.post("/responses", json=body(input=[forged]), headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_encrypted_content"


async def test_reasoning_without_summary_or_include_hides_both(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    plain = await stream(client, headers)
    assert [item["type"] for item in items_of(plain)] == ["message"]
    default = await stream(client, headers, reasoning={"effort": "low", "summary": "concise"})
    summary = text_of(default, "response.reasoning_summary_text.delta")
    assert summary.startswith("**Answering**")
    assert items_of(default)[0]["encrypted_content"] is None

    emulator.codex.script(reasoning="secret thoughts")
    hidden = await stream(client, headers, reasoning={"effort": "low"})
    assert "response.reasoning_summary_text.delta" not in types(hidden)
    assert hidden[2][1]["item"]["type"] == "reasoning"
    assert items_of(hidden)[0]["summary"] == []


async def test_scripted_function_calls_stream_their_arguments(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.knobs.chunk_size = 5
    emulator.codex.script(
        function_calls=[
            FunctionCall("get_weather", {"city": "Paris"}, call_id="call_1"),
            FunctionCall("get_time", '{"tz":"CET"}'),
        ]
    )
    tool = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
    events = await stream(client, headers, tools=[tool], tool_choice="auto")
    assert "response.output_text.delta" not in types(events)
    added = [data["item"] for name, data in events if name == "response.output_item.added"]
    assert [(i["type"], i["name"], i["arguments"]) for i in added] == [
        ("function_call", "get_weather", ""),
        ("function_call", "get_time", ""),
    ]
    assert added[0]["call_id"] == "call_1"
    assert added[1]["call_id"].startswith("call_")
    assert added[0]["id"].startswith("fc_")
    deltas = [d for n, d in events if n == "response.function_call_arguments.delta"]
    assert [d["delta"] for d in deltas if d["output_index"] == 0] == [
        '{"cit',
        'y":"P',
        'aris"',
        "}",
    ]
    done = [d for n, d in events if n == "response.function_call_arguments.done"]
    assert [d["arguments"] for d in done] == ['{"city":"Paris"}', '{"tz":"CET"}']
    items = items_of(events)
    assert [(i["status"], i["arguments"]) for i in items] == [
        ("completed", '{"city":"Paris"}'),
        ("completed", '{"tz":"CET"}'),
    ]

    history = [
        user("weather?"),
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
    ]
    assert text_of(await stream(client, headers, input=history)) == "Echo: weather?"
    orphan = await client.post("/responses", json=body(input=history[2:]), headers=headers)
    assert orphan.status_code == 400
    assert orphan.json()["error"]["message"] == (
        "No tool call found for function call output with call_id call_1."
    )


async def test_text_and_calls_together_and_script_order(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.script(
        "first", CodexReply(text="Let me check.", function_calls=[FunctionCall("lookup")])
    )
    assert emulator.codex.pending == 2
    assert text_of(await stream(client, headers)) == "first"
    second = await stream(client, headers)
    output = items_of(second)
    assert [item["type"] for item in output] == ["message", "function_call"]
    assert text_of(await stream(client, headers)) == "Echo: hello"
    assert emulator.codex.pending == 0


# How a stream ends ---------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["max_output_tokens", "content_filter"])
async def test_incomplete(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator, reason: str
) -> None:
    emulator.codex.script(text="Half an ans", finish="incomplete", incomplete_reason=reason)
    events = await stream(client, headers)
    name, data = events[-1]
    assert name == "response.incomplete"
    assert data["response"]["status"] == "incomplete"
    assert data["response"]["incomplete_details"] == {"reason": reason}
    assert items_of(events)[0]["status"] == "incomplete"
    assert data["response"]["usage"]["output_tokens"] > 0


async def test_failed_and_bare_error(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.script(
        CodexReply(finish="failed", error_code="context_length_exceeded", error_message="Too long"),
        CodexReply(finish="error", error_code="server_error", error_message="Boom"),
    )
    failed = await stream(client, headers)
    assert failed[-1][0] == "response.failed"
    assert failed[-1][1]["response"]["status"] == "failed"
    assert failed[-1][1]["response"]["error"] == {
        "code": "context_length_exceeded",
        "message": "Too long",
    }
    errored = await stream(client, headers)
    assert errored[-1] == (
        "error",
        {
            "type": "error",
            "code": "server_error",
            "message": "Boom",
            "param": None,
            "sequence_number": len(errored) - 1,
        },
    )
    assert "response.completed" not in types(errored)


async def test_cut_stream_ends_without_a_terminal_event(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.knobs.chunk_size = 2
    emulator.codex.script(text="abcdef", finish="cut")
    emulator.codex.script(text="abcdef", finish="cut", cut_after=2)
    cut = await stream(client, headers)
    assert types(cut)[-1] == "response.output_text.delta"
    assert text_of(cut) == "ab"
    assert types(await stream(client, headers)) == ["response.created", "response.in_progress"]
    assert emulator.codex.stats.completed_streams == 2
    assert emulator.codex.stats.cancelled_streams == 0


async def test_malformed_frame_comes_after_the_first_delta(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.script(text="fine", malformed=True)
    response = await client.post("/responses", json=body(), headers=headers)
    assert MALFORMED_FRAME in response.content
    events = parse_sse(response.content)
    assert isinstance(events[5][1], str)  # the data line is not JSON
    assert types(events)[4] == "response.output_text.delta"
    assert types(events)[-1] == "response.completed"
    assert emulator.codex.stats.events[5] == "malformed"


# HTTP errors before the stream ---------------------------------------------------------------


async def test_usage_limit_switch_answers_429_with_the_reset(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.knobs.usage_limit_reached = True
    emulator.codex.knobs.usage_limit_resets_in = 1800
    response = await client.post("/responses", json=body(), headers=headers)
    assert response.status_code == 429
    assert response.json() == {
        "error": {
            "type": "usage_limit_reached",
            "message": "The usage limit has been reached",
            "plan_type": "plus",
            "resets_at": int(START) + 1800,
            "resets_in_seconds": 1800,
        }
    }
    assert response.headers["x-codex-primary-used-percent"] == "100"
    assert response.headers["x-codex-active-limit"] == "codex"
    emulator.codex.knobs.usage_limit_reached = False
    assert (await client.post("/responses", json=body(), headers=headers)).status_code == 200
    assert emulator.codex.stats.rejected == 1


async def test_usage_limit_as_a_404_with_either_code(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.knobs.usage_limit_reached = True
    emulator.codex.knobs.usage_limit_shape = "404"
    response = await client.post("/responses", json=body(), headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "usage_limit_reached"
    assert response.json()["error"]["resets_in_seconds"] == 3600
    emulator.codex.knobs.usage_limit_code = "usage_not_included"
    response = await client.post("/responses", json=body(), headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "usage_not_included"
    assert response.json()["error"]["plan_type"] == "plus"


@pytest.mark.parametrize("code", ["rate_limit_exceeded", "server_is_overloaded"])
async def test_usage_limit_as_a_stream_that_fails_after_its_first_events(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator, code: Any
) -> None:
    emulator.codex.script("kept for later")
    emulator.codex.knobs.usage_limit_reached = True
    emulator.codex.knobs.usage_limit_shape = "stream"
    emulator.codex.knobs.stream_limit_code = code
    emulator.codex.knobs.usage_limit_resets_in = 20
    response = await client.post(
        "/responses", json=body(reasoning={"effort": "low", "summary": "auto"}), headers=headers
    )
    assert response.status_code == 200
    assert response.headers["x-codex-primary-used-percent"] == "100"
    events = parse_sse(response.content)
    assert types(events) == ["response.created", "response.in_progress", "response.failed"]
    error = events[-1][1]["response"]["error"]
    assert error["code"] == code
    if code == "rate_limit_exceeded":
        assert "try again in 20s" in error["message"]
    emulator.codex.knobs.usage_limit_reached = False
    assert text_of(await stream(client, headers)) == "kept for later"


async def test_rate_limit_header_knobs(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.knobs.credits_has_credits = True
    emulator.codex.knobs.credits_balance = "12.50"
    response = await client.post("/responses", json=body(), headers=headers)
    assert response.headers["x-codex-credits-has-credits"] == "true"
    assert response.headers["x-codex-credits-unlimited"] == "false"
    assert response.headers["x-codex-credits-balance"] == "12.50"
    emulator.codex.knobs.rate_limit_headers = False
    response = await client.post("/responses", json=body(), headers=headers)
    assert not [name for name in response.headers if name.startswith("x-codex-")]


async def test_scripted_http_errors_have_the_real_shapes(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.script(
        CodexReply.http_error(429),
        CodexReply.http_error(401),
        CodexReply.http_error(400, {"detail": "Nope"}),
        CodexReply.http_error(500),
        CodexReply.http_error(503, headers={"retry-after": "7"}),
    )
    answers = [await client.post("/responses", json=body(), headers=headers) for _ in range(5)]
    assert [a.status_code for a in answers] == [429, 401, 400, 500, 503]
    assert answers[0].json()["error"]["type"] == "usage_limit_reached"
    assert answers[1].json()["error"]["code"] == "token_expired"
    assert answers[2].json() == {"detail": "Nope"}
    assert answers[3].json()["error"]["type"] == "server_error"
    assert answers[4].json()["error"]["code"] == "server_is_overloaded"
    assert answers[4].headers["retry-after"] == "7"
    assert (await client.post("/responses", json=body(), headers=headers)).status_code == 200


async def test_a_rejected_request_does_not_use_up_the_script(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.script("kept")
    assert (await client.post("/responses", json=body(store=True), headers=headers)).is_error
    assert text_of(await stream(client, headers)) == "kept"


# Authentication and headers ------------------------------------------------------------------


async def test_tokens_are_checked_like_the_real_backend(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator, clock: ManualClock
) -> None:
    def post(**override: str) -> Any:
        merged = {k: v for k, v in {**headers, **override}.items() if v}
        return client.post("/responses", json=body(), headers=merged)

    missing = await post(authorization="")
    assert (missing.status_code, missing.json()) == (401, {"detail": "Unauthorized"})
    unknown = await post(authorization="Bearer nope")
    assert unknown.status_code == 401
    assert unknown.json() == {
        "error": {
            "message": "Your authentication token has been invalidated. Please try signing in "
            "again.",
            "type": "invalid_request_error",
            "code": "token_invalidated",
            "param": None,
        },
        "status": 401,
    }
    no_account = await post(**{"chatgpt-account-id": ""})
    assert no_account.status_code == 403
    other = await post(**{"chatgpt-account-id": "acct-someone-else"})
    assert other.status_code == 403
    assert "does not match" in other.json()["detail"]

    clock.advance(3600)
    expired = await post()
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "token_expired"


async def test_revoked_token_is_invalidated(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator, access: str
) -> None:
    emulator.revoke_token(access)
    response = await client.post("/responses", json=body(), headers=headers)
    assert response.json()["error"]["code"] == "token_invalidated"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("openai-beta", "", "Missing header OpenAI-Beta: responses=experimental"),
        ("openai-beta", "assistants=v2", "Missing header OpenAI-Beta: responses=experimental"),
        ("originator", "", "Missing header originator"),
    ],
)
async def test_codex_client_headers_are_required_unless_the_knob_is_off(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    emulator: Emulator,
    name: str,
    value: str,
    message: str,
) -> None:
    changed = {k: v for k, v in {**headers, name: value}.items() if v}
    response = await client.post("/responses", json=body(), headers=changed)
    assert (response.status_code, response.json()) == (400, {"detail": message})
    emulator.codex.knobs.require_client_headers = False
    assert (await client.post("/responses", json=body(), headers=changed)).status_code == 200


async def test_every_call_is_recorded_without_the_authorization_header(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator, access: str
) -> None:
    await client.post("/responses", json=body(), headers={**headers, "authorization": "Bearer x"})
    await stream(client, headers, prompt_cache_key="k")
    first, second = emulator.codex.requests
    assert (first.status, second.status) == (401, 200)
    assert second.body == body(prompt_cache_key="k")
    assert second.headers["session_id"] == headers["session_id"]
    assert second.headers["originator"] == "authai_test"
    assert all("authorization" not in r.headers for r in emulator.codex.requests)
    assert access not in repr(emulator.codex.requests)
    assert emulator.codex.last_request() is second
    assert emulator.codex.stats.requests == 2


# The body ------------------------------------------------------------------------------------


async def test_empty_instructions_are_accepted(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """The backend requires the field, not text in it (../shared/upstream.md section 7)."""
    response = await client.post("/responses", json=body(instructions=""), headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"instructions": None}, "Instructions are required"),
        ({"store": True}, "Store must be set to false"),
        ({"store": None}, "Store must be set to false"),
        ({"stream": False}, "Stream must be set to true"),
        ({"max_output_tokens": 100}, "Unsupported parameter: max_output_tokens"),
        ({"temperature": 0.2}, "Unsupported parameter: temperature"),
        ({"top_p": 0.9}, "Unsupported parameter: top_p"),
        ({"metadata": {"a": "b"}}, "Unsupported parameter: metadata"),
        ({"messages": []}, "Unsupported parameter: messages"),
        (
            {"model": "gpt-4o"},
            "The 'gpt-4o' model is not supported when using Codex with a ChatGPT account.",
        ),
        ({"input": "hello"}, "Input must be a list"),
        ({"service_tier": "flex"}, "Unsupported service_tier: flex"),
    ],
)
async def test_backend_rules_answer_400_detail(
    client: httpx.AsyncClient, headers: dict[str, str], change: dict[str, Any], detail: str
) -> None:
    sent = {k: v for k, v in body(**change).items() if v is not None}
    response = await client.post("/responses", json=sent, headers=headers)
    assert (response.status_code, response.json()) == (400, {"detail": detail})


ASSISTANT_INPUT_TEXT = {
    "type": "message",
    "role": "assistant",
    "content": [{"type": "input_text", "text": "hi"}],
}


@pytest.mark.parametrize(
    ("change", "param", "message"),
    [
        (
            {"input": [user("a"), ASSISTANT_INPUT_TEXT]},
            "input[1].content[0]",
            "Invalid value: 'input_text'. Supported values are: 'output_text' and 'refusal'.",
        ),
        (
            {
                "input": [
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "output_text", "text": "x"}],
                    }
                ]
            },
            "input[0].content[0]",
            "Invalid value: 'output_text'. Supported values are: 'input_text' and 'input_image'.",
        ),
        (
            {"input": [{"type": "message", "role": "tool", "content": "x"}]},
            "input[0].role",
            "Invalid value: 'tool'. Supported values are: 'user', 'assistant', 'system', and "
            "'developer'.",
        ),
        (
            {"input": [{"type": "reference", "role": "user"}]},
            "input[0].type",
            "Invalid value: 'reference'. Supported values are: 'message', 'function_call', "
            "'function_call_output', and 'reasoning'.",
        ),
        (
            {"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
            "input[0].call_id",
            "Missing required parameter: 'input[0].call_id'.",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f"}}]},
            "tools[0].function",
            "Unknown parameter: 'tools[0].function'.",
        ),
        (
            {"tools": [{"type": "function", "description": "no name"}]},
            "tools[0].name",
            "Missing required parameter: 'tools[0].name'.",
        ),
        (
            {"reasoning": {"effort": "ultra"}},
            "reasoning.effort",
            "Invalid value: 'ultra'. Supported values are: 'none', 'minimal', 'low', 'medium', "
            "'high', and 'xhigh'.",
        ),
        (
            {"model": "gpt-5.4-mini", "reasoning": {"effort": "xhigh"}},
            "reasoning.effort",
            "Unsupported value: 'xhigh' is not supported with the 'gpt-5.4-mini' model. "
            "Supported values are: 'low', 'medium', and 'high'.",
        ),
        (
            {"tool_choice": "sometimes"},
            "tool_choice",
            "Invalid value: 'sometimes'. Supported values are: 'none', 'auto', and 'required'.",
        ),
        (
            {"text": {"format": {"type": "json_schema", "schema": {}}}},
            "text.format.name",
            "Missing required parameter: 'text.format.name'.",
        ),
    ],
)
async def test_responses_fields_are_validated_in_openais_envelope(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    change: dict[str, Any],
    param: str,
    message: str,
) -> None:
    response = await client.post("/responses", json=body(**change), headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["param"], error["message"], error["type"]) == (
        param,
        message,
        "invalid_request_error",
    )


async def test_images_and_rich_requests_are_accepted(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    image = {
        "type": "input_image",
        "image_url": "data:image/png;base64,iVBORw0KGgo=",
        "detail": "low",
    }
    message = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "what?"}, image],
    }
    brief = {
        "type": "message",
        "role": "developer",
        "content": [{"type": "input_text", "text": "be brief"}],
    }
    events = await stream(
        client,
        headers,
        input=[brief, message],
        tools=[
            {"type": "function", "name": "f", "description": "d", "parameters": {}, "strict": True}
        ],
        tool_choice={"type": "function", "name": "f"},
        parallel_tool_calls=True,
        text={
            "format": {"type": "json_schema", "name": "x", "schema": {}, "strict": True},
            "verbosity": "low",
        },
        prompt_cache_key="conv",
        client_metadata={"x-codex-installation-id": "abc"},
    )
    assert text_of(events) == "Echo: what?"
    bad = {**image, "image_url": "ftp://example.com/cat.png"}
    response = await client.post(
        "/responses", json=body(input=[{**message, "content": [bad]}]), headers=headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "input[0].content[0].image_url"


async def test_a_body_that_is_not_json_is_a_400(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post(
        "/responses", content=b"{nope", headers={**headers, "content-type": "application/json"}
    )
    assert (response.status_code, response.json()) == (400, {"detail": "invalid json body"})


# The model catalog ---------------------------------------------------------------------------


async def test_models_lists_the_catalog(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    response = await client.get("/models", params={"client_version": "0.63.0"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["etag"]
    models = response.json()["models"]
    listed = [m["slug"] for m in models if m["visibility"] == "list"]
    assert sorted(listed) == sorted(
        ["gpt-5.4", "gpt-5.4-mini", "gpt-5.4-pro", "gpt-5.4-codex", "gpt-5.5", "gpt-5.5-pro"]
    )
    assert [m["slug"] for m in models if m["visibility"] == "hide"] == ["codex-auto-review"]
    first = models[0]
    assert {
        "slug",
        "display_name",
        "visibility",
        "supported_reasoning_levels",
        "priority",
        "default_reasoning_level",
        "context_window",
        "supported_in_api",
    } <= set(first)
    assert first["supported_reasoning_levels"][0].keys() == {"effort", "description"}
    assert [m["priority"] for m in models] == sorted(m["priority"] for m in models)
    assert emulator.codex.stats.model_lists == 1
    assert emulator.codex.last_request("/backend-api/codex/models").query == {
        "client_version": "0.63.0"
    }


async def test_models_needs_the_same_auth_and_a_client_version(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    params = {"client_version": "0.63.0"}
    anonymous = {k: v for k, v in headers.items() if k != "authorization"}
    assert (await client.get("/models", params=params, headers=anonymous)).status_code == 401
    wrong = {**headers, "chatgpt-account-id": "acct-other"}
    assert (await client.get("/models", params=params, headers=wrong)).status_code == 403
    no_version = await client.get("/models", headers=headers)
    assert (no_version.status_code, no_version.json()) == (
        400,
        {"detail": "client_version is required"},
    )


async def test_hidden_models_can_be_called(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    assert text_of(await stream(client, headers, model="codex-auto-review")) == "Echo: hello"


# The project's own Codex client agrees with the emulator --------------------------------------


async def test_the_codex_provider_client_talks_to_the_emulator(
    client: httpx.AsyncClient, emulator: Emulator, access: str, clock: Clock
) -> None:
    upstream = OpenAIUpstream(issuer=ISSUER, api_base=API)
    codex = CodexClient(upstream, client, originator="authai_test", clock=clock)
    credentials = Credentials(
        "openai", access, None, None, emulator.default_account.account_id, "authai_test"
    )
    models = await codex.list_models(credentials)
    assert "gpt-5.5" in {m.id for m in models}
    opened = await codex.open_stream(credentials, body(), session_id="s-1")
    try:
        raw = b"".join([chunk async for chunk in opened.aiter_bytes()])
    finally:
        await opened.aclose()
    assert text_of(parse_sse(raw)) == "Echo: hello"
    assert emulator.codex.last_request().headers["session_id"] == "s-1"


# Cancellation --------------------------------------------------------------------------------


async def drive(emulator: Emulator, headers: dict[str, str], *, disconnect_on: str) -> list[bytes]:
    """Run one streaming call straight through ASGI; the client goes away at `disconnect_on`
    (`start`: once the response headers came, `body`: once the first event came)."""
    raw = json.dumps(body()).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/backend-api/codex/responses",
        "raw_path": b"/backend-api/codex/responses",
        "root_path": "",
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "server": ("chatgpt.emulator.test", 80),
        "client": ("127.0.0.1", 5000),
    }
    gone = anyio.Event()
    received: list[bytes] = []
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start" and disconnect_on == "start":
            gone.set()
        if message["type"] == "http.response.body" and message.get("body"):
            received.append(message["body"])
            if disconnect_on == "body":
                gone.set()
        await anyio.lowlevel.checkpoint()

    with anyio.fail_after(5):  # a delay knob of an hour must not be waited out
        await emulator(scope, receive, send)
    return received


async def test_a_client_disconnect_cancels_the_stream(
    emulator: Emulator, headers: dict[str, str]
) -> None:
    emulator.codex.knobs.chunk_size = 1
    received = await drive(emulator, headers, disconnect_on="body")
    stats = emulator.codex.stats
    assert (stats.streams, stats.cancelled_streams, stats.completed_streams) == (1, 1, 0)
    assert stats.open_streams == 0
    assert 1 <= len(received) < 10
    assert b"response.completed" not in b"".join(received)
    assert "response.completed" not in stats.events


@pytest.mark.parametrize(
    ("knob", "moment"), [("event_delay", "body"), ("first_byte_delay", "start")]
)
async def test_a_disconnect_during_a_delay_cancels_at_once(
    emulator: Emulator, headers: dict[str, str], knob: str, moment: str
) -> None:
    setattr(emulator.codex.knobs, knob, 3600.0)
    received = await drive(emulator, headers, disconnect_on=moment)
    stats = emulator.codex.stats
    assert (stats.cancelled_streams, stats.completed_streams, stats.open_streams) == (1, 0, 0)
    assert len(received) == (1 if moment == "body" else 0)
