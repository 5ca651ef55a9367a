"""Copilot models that chat completions refuses as `unsupported_api_for_model`: the call is made
once more on `/responses` (translated both ways, streamed or not) and the model remembered, so
later calls go straight there; a model neither endpoint serves is one clear error."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from authai_embed.providers.github.catalog import ResponsesOnly
from authai_embed.testing import TOKEN_MARKER
from tests._support.harness import Harness

pytestmark = pytest.mark.anyio

HI = [{"role": "user", "content": "hi"}]
CHAT_ONLY = "claude-sonnet-4.5"  # the catalog lists /chat/completions only


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


def posted(harness: Harness) -> list[str]:
    """The paths of the model calls Copilot received, in order."""
    return [r.path for r in harness.emulator.github.model.requests if r.method == "POST"]


def content_of(response: httpx.Response, stream: bool) -> str:
    if not stream:
        text: str = response.json()["choices"][0]["message"]["content"]
        return text
    lines = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    chunks: list[dict[str, Any]] = [json.loads(line) for line in lines[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)


async def chat(
    harness: Harness, jwt: str, model: str, *, stream: bool = False, text: str = "hi"
) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": text}], "stream": stream}
    return await harness.client.post("/authai/v1/chat/completions", json=body, headers=bearer(jwt))


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_model_chat_refuses_is_retried_on_responses_then_sent_there_directly(
    harness: Harness, stream: bool
) -> None:
    jwt = await harness.sign_in(provider="github")
    harness.emulator.github.knobs.unsupported_api["gpt-5.4"] = ("/chat/completions",)
    first = await chat(harness, jwt, "gpt-5.4", stream=stream)
    assert first.status_code == 200, first.text
    assert content_of(first, stream) == "Echo: hi"
    assert posted(harness) == ["/copilot/chat/completions", "/copilot/responses"]
    sent = harness.emulator.github.model.last_request("/responses")
    assert sent.body["model"] == "gpt-5.4"
    assert sent.body["input"][0]["content"] == [{"type": "input_text", "text": "hi"}]
    assert sent.headers["x-initiator"] == "user"

    second = await chat(harness, jwt, "gpt-5.4", stream=stream, text="again")
    assert second.status_code == 200, second.text
    assert content_of(second, stream) == "Echo: again"
    assert posted(harness)[2:] == ["/copilot/responses"]  # no chat attempt this time


async def test_a_remembered_model_is_served_on_v1_responses_too(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="github")
    harness.emulator.github.knobs.unsupported_api[CHAT_ONLY] = ("/chat/completions",)
    refused = await harness.client.post(
        "/authai/v1/responses", json={"model": CHAT_ONLY, "input": "x"}, headers=bearer(jwt)
    )
    assert refused.status_code == 400  # the catalog lists chat only: not offered yet
    assert (await chat(harness, jwt, CHAT_ONLY)).status_code == 200
    answer = await harness.client.post(
        "/authai/v1/responses", json={"model": CHAT_ONLY, "input": "ping"}, headers=bearer(jwt)
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"][-1]["content"][0]["text"] == "Echo: ping"


async def test_a_model_served_on_neither_endpoint_is_one_clear_error(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="github")
    both = ("/chat/completions", "/responses")
    harness.emulator.github.knobs.unsupported_api["gpt-5.4"] = both
    for stream in (False, True):
        refused = await chat(harness, jwt, "gpt-5.4", stream=stream)
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert error["code"] == "unsupported_api_for_model"
        assert error["message"] == (
            "GitHub Copilot serves the model gpt-5.4 on neither /chat/completions nor /responses"
        )
        assert TOKEN_MARKER not in refused.text
    # Each call tried chat, then /responses once: nothing is remembered of a model neither serves.
    assert posted(harness) == ["/copilot/chat/completions", "/copilot/responses"] * 2
    assert not any(TOKEN_MARKER in repr(r.headers) for r in harness.emulator.github.model.requests)


async def test_other_refusals_are_not_retried(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="github")
    harness.emulator.github.model.knobs.usage_limit_reached = True
    limited = await chat(harness, jwt, "gpt-5.4")
    assert limited.status_code == 429
    refused = await chat(harness, jwt, "no-such-model")  # not in the catalog: chat only
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "model_not_supported"
    assert posted(harness) == ["/copilot/chat/completions"] * 2


def test_the_memory_of_responses_only_models_is_bounded() -> None:
    learned = ResponsesOnly(limit=2)
    learned.add("a")
    learned.add("b")
    assert "a" in learned  # used: "b" is now the least recent
    learned.add("c")
    assert "a" in learned
    assert "c" in learned
    assert "b" not in learned
    learned.discard("a")
    assert "a" not in learned
