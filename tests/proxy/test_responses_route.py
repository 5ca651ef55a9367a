"""`/v1/responses` through the mount over raw HTTP: every input shape the public API takes
reaches the upstream as typed items, statelessly where the upstream stores nothing, and every
response object that comes back carries what clients read."""

from __future__ import annotations

import json
from typing import Any

import pytest

from authai_embed.proxy.translate.response_fill import REQUIRED_FIELDS
from authai_embed.testing.codex.backend import CodexBackend
from authai_embed.testing.model.chat import ChatModel
from tests._support.harness import Harness

pytestmark = pytest.mark.anyio


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


def events_of(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def typed(role: str, kind: str, text: str) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


MODELS = {"openai": "gpt-5.4", "xai": "grok-4", "github": "gpt-5.4"}


async def post(harness: Harness, jwt: str, **body: Any) -> Any:
    body.setdefault("model", "gpt-5.4")
    response = await harness.client.post("/authai/v1/responses", headers=bearer(jwt), json=body)
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("stream", [False, True])
async def test_a_string_input_is_sent_as_one_typed_user_message(
    harness: Harness, stream: bool
) -> None:
    jwt = await harness.sign_in()
    response = await post(harness, jwt, input="hello", stream=stream)
    sent = harness.emulator.codex.last_request().body
    assert sent["input"] == [typed("user", "input_text", "hello")]
    final = events_of(response.text)[-1]["response"] if stream else response.json()
    assert final["output"][-1]["content"][0]["text"] == "Echo: hello"


async def test_shorthand_messages_are_sent_typed_and_system_as_developer(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in()
    history = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "Echo: first"},
        {"type": "message", "role": "user", "content": "second"},
    ]
    response = await post(harness, jwt, input=history)
    assert response.json()["output"][-1]["content"][0]["text"] == "Echo: second"
    assert harness.emulator.codex.last_request().body["input"] == [
        typed("developer", "input_text", "Be brief."),
        typed("user", "input_text", "first"),
        typed("assistant", "output_text", "Echo: first"),
        typed("user", "input_text", "second"),
    ]


async def test_ids_and_item_references_are_dropped_and_reasoning_comes_back_encrypted(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in()
    first = (
        await post(harness, jwt, input="capital?", reasoning={"effort": "low", "summary": "auto"})
    ).json()
    assert harness.emulator.codex.last_request().body["include"] == ["reasoning.encrypted_content"]
    reasoning, answer = first["output"]
    assert reasoning["encrypted_content"]
    assert reasoning["id"]
    assert answer["id"]
    # What a client that keeps history sends back: the output items as they came, with ids.
    history = [
        {"type": "item_reference", "id": "msg_elsewhere"},
        {**typed("user", "input_text", "capital?"), "id": "msg_user"},
        *first["output"],
        {"role": "user", "content": "sure?"},
    ]
    second = await post(harness, jwt, input=history, reasoning={"effort": "low"})
    assert second.json()["output"][-1]["content"][0]["text"] == "Echo: sure?"
    sent = harness.emulator.codex.last_request().body
    assert [item.get("type") for item in sent["input"]] == [
        "message",
        "reasoning",
        "message",
        "message",
    ]
    assert all("id" not in item for item in sent["input"])


async def test_the_streamed_final_response_carries_the_items_the_stream_delivered(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in()
    response = await post(harness, jwt, input="hi", stream=True)
    events = events_of(response.text)
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    final = events[-1]
    assert final["type"] == "response.completed"
    assert final["response"]["output"] == done != []
    assert final["response"]["usage"]["total_tokens"] > 0


@pytest.mark.parametrize("finish", ["incomplete", "failed"])
async def test_an_incomplete_or_failed_stream_end_carries_its_items_too(
    harness: Harness, finish: str
) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.script(text="Half an answer", finish=finish)
    events = events_of((await post(harness, jwt, input="hi", stream=True)).text)
    final = events[-1]
    assert final["type"] == f"response.{finish}"
    assert final["response"]["output"][0]["content"][0]["text"] == "Half an answer"


@pytest.mark.parametrize("provider", ["openai", "xai", "github"])
@pytest.mark.parametrize("stream", [False, True])
async def test_every_response_object_has_the_fields_clients_read(
    harness: Harness, provider: str, stream: bool
) -> None:
    jwt = await harness.sign_in(provider=provider)
    upstream: CodexBackend | ChatModel = harness.emulator.codex
    if provider != "openai":
        upstream = (
            harness.emulator.xai.model if provider == "xai" else harness.emulator.github.model
        )
    # A whole answer passed through has no stream its output could be rebuilt from.
    upstream.knobs.final_output = not stream and provider != "openai"
    upstream.knobs.omit_response_fields = ("object", "created_at", "usage", "id")
    response = await post(harness, jwt, input="hi", stream=stream, model=MODELS[provider])
    if stream:
        objects = [e["response"] for e in events_of(response.text) if "response" in e]
    else:
        objects = [response.json()]
    for obj in objects:
        assert set(REQUIRED_FIELDS) <= set(obj), obj
        assert obj["object"] == "response"
        assert isinstance(obj["created_at"], int)
        assert obj["id"].startswith("resp_")
        assert obj["model"] == MODELS[provider]
    assert len({obj["id"] for obj in objects}) == 1
    assert objects[-1]["status"] == "completed"
    assert objects[-1]["output"][-1]["content"][0]["text"] == "Echo: hi"


@pytest.mark.parametrize("provider", ["xai", "github"])
async def test_pass_through_providers_get_typed_items_and_keep_their_store(
    harness: Harness, provider: str
) -> None:
    jwt = await harness.sign_in(provider=provider)
    model = harness.emulator.xai.model if provider == "xai" else harness.emulator.github.model
    reference = {"type": "item_reference", "id": "msg_1"}
    shorthand = {"role": "user", "content": "hi"}
    await post(harness, jwt, input=[shorthand, reference], model=MODELS[provider])
    sent = model.last_request().body
    assert sent["input"] == [typed("user", "input_text", "hi"), reference]
    assert "store" not in sent
    assert "include" not in sent
    await post(
        harness,
        jwt,
        input=[shorthand, reference],
        store=False,
        reasoning={"effort": "low"},
        model=MODELS[provider],
    )
    sent = model.last_request().body
    assert sent["input"] == [typed("user", "input_text", "hi")]
    assert sent["include"] == ["reasoning.encrypted_content"]


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize("provider", ["xai", "github"])
async def test_a_compressed_whole_answer_reaches_the_caller_decoded(
    harness: Harness, provider: str, encoding: str
) -> None:
    # The mount asks for `identity`; a server (or a proxy on the way) that compresses anyway
    # must not leave the caller with bytes it cannot read.
    jwt = await harness.sign_in(provider=provider)
    model = harness.emulator.xai.model if provider == "xai" else harness.emulator.github.model
    model.knobs.content_encoding = encoding  # type: ignore[assignment]
    answer = await post(harness, jwt, input="hi", model=MODELS[provider])
    assert "content-encoding" not in answer.headers
    assert answer.json()["output"][-1]["content"][0]["text"] == "Echo: hi"
    chat = await harness.client.post(
        "/authai/v1/chat/completions",
        headers=bearer(jwt),
        json={"model": MODELS[provider], "messages": [{"role": "user", "content": "yo"}]},
    )
    assert chat.status_code == 200, chat.text
    assert "content-encoding" not in chat.headers
    assert chat.json()["choices"][0]["message"]["content"] == "Echo: yo"
