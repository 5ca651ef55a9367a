"""`/v1/messages` on the wire: Anthropic's error envelope for every failure but the 401, which
is the one every `/v1` route sends; a stream that fails ends in an `error` event."""

from __future__ import annotations

import json
from typing import Any

import pytest

from authai_embed import AuthStore, MemoryStore
from authai_embed.asgi.limits import Limits, Rate
from authai_embed.errors import StoreError
from authai_embed.proxy.translate.sse import SSEDecoder
from authai_embed.testing import TOKEN_MARKER, CodexReply
from tests._support.harness import Harness, HarnessFactory

pytestmark = pytest.mark.anyio

BODY = {"model": "gpt-5.4", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
V1_UNAUTHORIZED = b'{"error":{"message":"unauthorized","type":"invalid_request_error"}}'


@pytest.fixture
def store() -> AuthStore:
    return MemoryStore()


def key(jwt: str) -> dict[str, str]:
    return {"x-api-key": jwt, "anthropic-version": "2023-06-01"}


def anthropic_error(body: Any, kind: str) -> str:
    """The message of an Anthropic error body of type `kind` (and nothing else in it)."""
    assert body["type"] == "error"
    assert set(body["error"]) == {"type", "message"}
    assert body["error"]["type"] == kind
    message: str = body["error"]["message"]
    return message


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "x.y.z"}, {"authorization": "Bearer x.y.z"}, {"x-api-key": ""}],
)
async def test_every_auth_failure_is_the_v1_401(harness: Harness, headers: dict[str, str]) -> None:
    response = await harness.client.post("/authai/v1/messages", json=BODY, headers=headers)
    assert (response.status_code, response.content) == (401, V1_UNAUTHORIZED)


async def test_a_bearer_header_wins_over_x_api_key(harness: Harness) -> None:
    jwt = await harness.sign_in()
    headers = {"authorization": "Bearer x.y.z", "x-api-key": jwt}
    response = await harness.client.post("/authai/v1/messages", json=BODY, headers=headers)
    assert response.status_code == 401
    headers = {"authorization": f"Bearer {jwt}", "x-api-key": "x.y.z"}
    response = await harness.client.post("/authai/v1/messages", json=BODY, headers=headers)
    assert response.status_code == 200


async def test_bad_bodies_are_invalid_request_errors(harness: Harness) -> None:
    jwt = await harness.sign_in()
    post = harness.client.post
    not_json = await post(
        "/authai/v1/messages",
        content=b"{",
        headers={**key(jwt), "content-type": "application/json"},
    )
    assert not_json.status_code == 400
    assert anthropic_error(not_json.json(), "invalid_request_error") == "invalid json body"
    no_max = await post("/authai/v1/messages", json={**BODY, "max_tokens": None}, headers=key(jwt))
    assert no_max.status_code == 400
    assert "max_tokens" in anthropic_error(no_max.json(), "invalid_request_error")
    # The chat path's own checks answer in this envelope too.
    bad_model = await post("/authai/v1/messages", json={**BODY, "model": "x" * 5}, headers=key(jwt))
    assert bad_model.status_code == 400
    anthropic_error(bad_model.json(), "invalid_request_error")


async def test_a_body_over_the_limit_is_request_too_large(make_harness: HarnessFactory) -> None:
    harness = await make_harness(max_body_bytes=2048)
    jwt = await harness.sign_in()
    big = {**BODY, "messages": [{"role": "user", "content": "x" * 4096}]}
    response = await harness.client.post("/authai/v1/messages", json=big, headers=key(jwt))
    assert response.status_code == 413
    anthropic_error(response.json(), "request_too_large")


async def test_the_per_user_rate_limit_is_a_rate_limit_error(make_harness: HarnessFactory) -> None:
    harness = await make_harness(limits=Limits(v1=Rate(1, 60)))
    jwt = await harness.sign_in()
    assert (
        await harness.client.post("/authai/v1/messages", json=BODY, headers=key(jwt))
    ).is_success
    refused = await harness.client.post("/authai/v1/messages", json=BODY, headers=key(jwt))
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "rate limited" in anthropic_error(refused.json(), "rate_limit_error")


async def test_an_upstream_refusal_keeps_its_status_in_anthropics_envelope(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.script(
        CodexReply.http_error(400, {"error": {"message": "prompt too odd"}}),
        CodexReply.http_error(503, {"error": {"message": "busy"}}),
    )
    refused = await harness.client.post("/authai/v1/messages", json=BODY, headers=key(jwt))
    assert refused.status_code == 400
    assert "prompt too odd" in anthropic_error(refused.json(), "invalid_request_error")
    response = await harness.client.post("/authai/v1/messages", json=BODY, headers=key(jwt))
    assert response.status_code == 502  # the provider is down: a bad gateway, as on chat
    anthropic_error(response.json(), "api_error")
    assert TOKEN_MARKER not in response.text


async def test_a_failed_stream_ends_with_an_error_event(harness: Harness) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.script(
        CodexReply(text="partial answer", finish="failed", error_message="the model fell over")
    )
    response = await harness.client.post(
        "/authai/v1/messages", json={**BODY, "stream": True}, headers=key(jwt)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = SSEDecoder().feed(response.content)
    names = [event.event for event in events]
    assert names[:2] == ["message_start", "ping"]
    assert names[-1] == "error"
    assert "message_stop" not in names
    error = json.loads(events[-1].data)
    assert "the model fell over" in anthropic_error(error, "api_error")
    assert TOKEN_MARKER not in response.text


async def test_count_tokens_says_it_cannot(harness: Harness) -> None:
    response = await harness.client.post("/authai/v1/messages/count_tokens", json=BODY)
    assert response.status_code == 404
    assert "count_tokens is not supported" in anthropic_error(response.json(), "not_found_error")


async def test_other_methods_and_paths_stay_unsupported_endpoints(harness: Harness) -> None:
    for method, path in [("GET", "/v1/messages"), ("POST", "/v1/messages/batches")]:
        response = await harness.client.request(method, f"/authai{path}")
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "unsupported_endpoint"


class _DownStore(MemoryStore):
    async def open(self) -> None:
        raise StoreError("connection refused")


async def test_a_store_outage_is_an_overloaded_error(make_harness: HarnessFactory) -> None:
    harness = await make_harness(store=_DownStore())
    response = await harness.client.post("/authai/v1/messages", json=BODY)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    anthropic_error(response.json(), "overloaded_error")
    chat = await harness.client.post("/authai/v1/chat/completions", json={})
    assert chat.json()["error"]["type"] == "service_unavailable"  # the OpenAI routes unchanged


async def test_a_stop_sequence_closes_the_upstream_stream(harness: Harness) -> None:
    jwt = await harness.sign_in()
    codex = harness.emulator.codex
    codex.knobs.chunk_size = 1
    codex.script("Say STOP now. " + "then a long tail " * 40)
    body = {**BODY, "stream": True, "stop_sequences": ["STOP"]}
    response = await harness.client.post("/authai/v1/messages", json=body, headers=key(jwt))
    events = SSEDecoder().feed(response.content)
    texts = [
        json.loads(e.data)["delta"].get("text", "")
        for e in events
        if e.event == "content_block_delta"
    ]
    assert "".join(texts) == "Say "
    assert events[-1].event == "message_stop"
    assert (codex.stats.cancelled_streams, codex.stats.open_streams) == (1, 0)
