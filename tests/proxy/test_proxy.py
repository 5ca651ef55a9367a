"""The `/v1/*` proxy over raw HTTP: wire shapes, the Responses pass-through, refresh on a 401,
error mapping, and the uniform 401."""

from __future__ import annotations

import json

import pytest

from authai_embed.providers.openai.backend import FALLBACK_TTL
from authai_embed.testing import TOKEN_MARKER, CodexReply
from tests._support.harness import UPSTREAM, Harness, HarnessFactory

pytestmark = pytest.mark.anyio

V1_UNAUTHORIZED = b'{"error":{"message":"unauthorized","type":"invalid_request_error"}}'
CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


def sse_data(text: str) -> list[str]:
    return [line[6:] for line in text.splitlines() if line.startswith("data: ")]


async def test_every_v1_auth_failure_is_the_same_openai_shaped_401(harness: Harness) -> None:
    jwt = await harness.sign_in()
    await harness.client.post("/authai/auth/revoke", headers=bearer(jwt))
    for headers in ({}, {"Authorization": "Bearer nope"}, bearer(jwt)):
        for method, path in (("GET", "/authai/v1/models"), ("POST", "/authai/v1/chat/completions")):
            response = await harness.client.request(method, path, headers=headers, json=CHAT)
            assert (response.status_code, response.content) == (401, V1_UNAUTHORIZED)


async def test_streamed_chat_frames_end_with_done(harness: Harness) -> None:
    jwt = await harness.sign_in()
    response = await harness.client.post(
        "/authai/v1/chat/completions", headers=bearer(jwt), json={**CHAT, "stream": True}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    data = sse_data(response.text)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "Echo: hi"


async def test_a_stream_that_fails_midway_ends_with_an_error_frame(harness: Harness) -> None:
    jwt = await harness.sign_in()
    for reply in (
        CodexReply(text="partial answer", finish="failed", error_code="server_error"),
        CodexReply(text="partial answer", finish="cut"),
        CodexReply(text="partial answer", malformed=True),
    ):
        harness.emulator.codex.script(reply)
        response = await harness.client.post(
            "/authai/v1/chat/completions", headers=bearer(jwt), json={**CHAT, "stream": True}
        )
        data = sse_data(response.text)
        assert data[-1] == "[DONE]", reply
        assert "error" in json.loads(data[-2]), reply


async def test_non_streamed_failure_is_an_openai_error(harness: Harness) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.script(CodexReply(text="x", finish="cut"))
    response = await harness.client.post(
        "/authai/v1/chat/completions", headers=bearer(jwt), json=CHAT
    )
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "provider_error"


async def test_responses_pass_through_streamed_and_aggregated(harness: Harness) -> None:
    jwt = await harness.sign_in()
    body = {
        "model": "gpt-5.4",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "yo"}]}],
    }
    streamed = await harness.client.post(
        "/authai/v1/responses",
        headers=bearer(jwt),
        json={**body, "stream": True, "temperature": 0.2},
    )
    assert streamed.status_code == 200
    assert "event: response.completed" in streamed.text
    sent = harness.emulator.codex.last_request().body
    assert sent["store"] is False
    assert sent["stream"] is True
    assert isinstance(sent["instructions"], str)
    assert "temperature" not in sent
    whole = await harness.client.post("/authai/v1/responses", headers=bearer(jwt), json=body)
    assert whole.status_code == 200
    result = whole.json()
    assert result["status"] == "completed"
    assert result["output"][-1]["content"][0]["text"] == "Echo: yo"


async def test_an_upstream_401_refreshes_once_and_retries(harness: Harness) -> None:
    jwt = await harness.sign_in()
    session = await harness.authai.sessions.open_session(jwt)
    assert harness.emulator.revoke_token(session.credentials.access)
    response = await harness.client.post(
        "/authai/v1/chat/completions", headers=bearer(jwt), json=CHAT
    )
    assert response.status_code == 200
    assert harness.emulator.stats.refreshes == 1
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hi"


async def test_expired_access_token_is_refreshed_before_the_call(harness: Harness) -> None:
    jwt = await harness.sign_in()
    harness.clock.advance(3600)
    response = await harness.client.post(
        "/authai/v1/chat/completions", headers=bearer(jwt), json=CHAT
    )
    assert response.status_code == 200
    assert harness.emulator.stats.refreshes == 1
    assert harness.emulator.codex.stats.rejected == 0


async def test_usage_limit_stays_429_with_retry_after_and_reset_time(harness: Harness) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.knobs.usage_limit_reached = True
    harness.emulator.codex.knobs.usage_limit_resets_in = 1800
    response = await harness.client.post(
        "/authai/v1/chat/completions", headers=bearer(jwt), json=CHAT
    )
    assert response.status_code == 429
    assert 1700 <= int(response.headers["retry-after"]) <= 1800
    error = response.json()["error"]
    assert error["code"] == "usage_limit_reached"
    assert "resets at" in error["message"]


async def test_upstream_400_and_500_are_mapped(harness: Harness) -> None:
    jwt = await harness.sign_in()
    unknown = await harness.client.post(
        "/authai/v1/chat/completions", headers=bearer(jwt), json={**CHAT, "model": "no-such-model"}
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"]["type"] == "provider_error"
    harness.emulator.codex.script(CodexReply.http_error(500))
    failed = await harness.client.post(
        "/authai/v1/chat/completions", headers=bearer(jwt), json=CHAT
    )
    assert failed.status_code == 502


async def test_models_are_cached_and_fall_back_to_the_builtin_list(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness()
    jwt = await harness.sign_in()
    first = await harness.client.get("/authai/v1/models", headers=bearer(jwt))
    await harness.client.get("/authai/v1/models", headers=bearer(jwt))
    assert harness.emulator.codex.stats.model_lists == 1
    ids = [m["id"] for m in first.json()["data"]]
    assert first.json()["object"] == "list"
    assert "gpt-5.4" in ids
    assert all(m["object"] == "model" and m["owned_by"] == "openai" for m in first.json()["data"])


async def test_a_catalog_that_cannot_be_had_is_not_asked_for_on_every_call(
    make_harness: HarnessFactory,
) -> None:
    # The emulator refuses a catalog request without a client version: the built-in list
    # stands in, and the model calls that follow do not each ask again.
    harness = await make_harness(openai={**UPSTREAM, "client_version": ""})
    jwt = await harness.sign_in()
    for _ in range(3):
        response = await harness.client.post(
            "/authai/v1/chat/completions", headers=bearer(jwt), json=CHAT
        )
        assert response.status_code == 200
    assert harness.emulator.codex.stats.model_lists == 1
    harness.clock.advance(FALLBACK_TTL)
    await harness.client.post("/authai/v1/chat/completions", headers=bearer(jwt), json=CHAT)
    assert harness.emulator.codex.stats.model_lists == 2


async def test_bad_chat_bodies_name_the_parameter(harness: Harness) -> None:
    jwt = await harness.sign_in()
    cases = [
        (b"{not json", 400, "invalid json body"),
        (json.dumps({"model": "gpt-5.4"}).encode(), 400, "model and messages are required"),
        (json.dumps({**CHAT, "n": 3}).encode(), 400, "n"),
    ]
    for content, status, fragment in cases:
        response = await harness.client.post(
            "/authai/v1/chat/completions",
            headers={**bearer(jwt), "content-type": "application/json"},
            content=content,
        )
        assert response.status_code == status
        assert fragment in response.json()["error"]["message"] + str(
            response.json()["error"].get("param")
        )
    oversized = await harness.client.post(
        "/authai/v1/chat/completions",
        headers={**bearer(jwt), "content-type": "application/json"},
        content=b'{"pad": "' + b"x" * (harness.authai.settings.max_body_bytes + 10) + b'"}',
    )
    assert oversized.status_code == 413


async def test_no_token_leaks_through_proxy_answers(harness: Harness) -> None:
    jwt = await harness.sign_in()
    texts = []
    for reply in (
        None,
        CodexReply.http_error(400),
        CodexReply.http_error(429),
        CodexReply(finish="failed"),
    ):
        if reply is not None:
            harness.emulator.codex.script(reply)
        response = await harness.client.post(
            "/authai/v1/chat/completions", headers=bearer(jwt), json={**CHAT, "stream": True}
        )
        texts.append(response.text + str(response.headers))
    assert all(TOKEN_MARKER not in t for t in texts)


async def test_reasoning_summaries_are_opt_in(harness: Harness) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.script(CodexReply(text="42", reasoning="Thinking it over."))
    plain = await harness.client.post("/authai/v1/chat/completions", headers=bearer(jwt), json=CHAT)
    assert "reasoning_content" not in plain.json()["choices"][0]["message"]
    harness.emulator.codex.script(CodexReply(text="42", reasoning="Thinking it over."))
    asked = await harness.client.post(
        "/authai/v1/chat/completions",
        headers=bearer(jwt),
        json={**CHAT, "reasoning_summary": "auto", "stream": True},
    )
    chunks = [json.loads(d) for d in sse_data(asked.text)[:-1]]
    summary = "".join(
        c["choices"][0]["delta"].get("reasoning_content") or "" for c in chunks if c["choices"]
    )
    assert summary == "Thinking it over."
    sent = harness.emulator.codex.last_request().body
    assert sent["reasoning"]["summary"] == "auto"
    assert "reasoning.encrypted_content" in sent["include"]


async def test_a_revoked_account_gets_the_uniform_401_on_v1(harness: Harness) -> None:
    jwt = await harness.sign_in()
    harness.emulator.revoke_account(harness.emulator.default_account.account_id)
    for method, path in (("GET", "/authai/v1/models"), ("POST", "/authai/v1/chat/completions")):
        response = await harness.client.request(method, path, headers=bearer(jwt), json=CHAT)
        assert (response.status_code, response.content) == (401, V1_UNAUTHORIZED)


@pytest.mark.parametrize(
    "key",
    ["é", "a b", "x" * 129, "", "key\n", 7],
    ids=["non_ascii", "space", "129", "empty", "lf", "int"],
)
async def test_a_bad_prompt_cache_key_is_a_400_naming_it(harness: Harness, key: object) -> None:
    jwt = await harness.sign_in()
    for path, body in (
        ("/authai/v1/chat/completions", {**CHAT, "prompt_cache_key": key}),
        ("/authai/v1/responses", {"model": "gpt-5.4", "input": "hi", "prompt_cache_key": key}),
    ):
        response = await harness.client.post(path, headers=bearer(jwt), json=body)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"]["param"] == "prompt_cache_key"
    assert harness.emulator.codex.stats.requests == 0


async def test_prompt_cache_keys_are_namespaced_per_user(harness: Harness) -> None:
    harness.emulator.add_account("acct-other", email="other@example.com")
    mine, theirs = await harness.sign_in(), await harness.sign_in(account="acct-other")
    sent: list[tuple[str, str]] = []
    for jwt in (mine, mine, theirs):
        body = {**CHAT, "prompt_cache_key": "conversation-1"}
        response = await harness.client.post(
            "/authai/v1/chat/completions", headers=bearer(jwt), json=body
        )
        assert response.status_code == 200
        request = harness.emulator.codex.last_request()
        # The backend wants the body's key and the session_id header to match.
        assert request.body["prompt_cache_key"] == request.headers["session_id"]
        sent.append((request.body["prompt_cache_key"], request.headers["session_id"]))
    assert sent[0] == sent[1]  # one user's conversation keeps its cache
    assert sent[0][0] != sent[2][0]  # another user's same key never meets it upstream
    assert "conversation-1" not in {key for pair in sent for key in pair}
