"""`client.responses.create` and `client.responses.stream` of the official `openai` SDK against
the proxy, in all four modes and for every provider: string, shorthand and typed input, streamed
and not; `output_text` and `stream.get_final_response()` return the answer although the ChatGPT
backend ends its stream with `output: []`."""

from __future__ import annotations

from typing import Any

import pytest

from tests._support.harness import Harness
from tests.conformance.sdk import MODES, sdk_for
from tests.conformance.targets import Target

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

INPUTS: dict[str, Any] = {
    "string": "hello there",
    "shorthand": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Echo: hi"},
        {"role": "user", "content": "hello there"},
    ],
    "typed": [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "hello there"}],
        }
    ],
}
FIELDS = ("id", "object", "created_at", "status", "model", "output", "usage")


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=list(INPUTS))
def shape(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def check_sent(harness: Harness, target: Target, shape: str) -> None:
    """Every upstream got typed items, whatever the caller's shape."""
    sent = target.last_body(harness.emulator)["input"]
    assert isinstance(sent, list)
    assert all(item["type"] == "message" for item in sent)
    assert all(isinstance(item["content"], list) for item in sent)
    assert sent[-1]["content"] == [{"type": "input_text", "text": "hello there"}]
    if shape == "shorthand":
        assert sent[1]["content"] == [{"type": "output_text", "text": "Echo: hi"}]


async def test_responses_create(harness: Harness, mode: str, target: Target, shape: str) -> None:
    jwt = await harness.sign_in()
    async with sdk_for(mode, harness, jwt) as sdk:
        response = await sdk.respond(
            model=target.model, input=INPUTS[shape], instructions="Be brief."
        )
    assert response.output_text == "Echo: hello there"
    assert response.status == "completed"
    assert response.object == "response"
    assert response.model == target.model
    assert response.usage is not None
    assert response.usage.total_tokens > 0
    check_sent(harness, target, shape)


async def test_responses_stream_and_its_final_response(
    harness: Harness, mode: str, target: Target, shape: str
) -> None:
    jwt = await harness.sign_in()
    upstream = target.upstream(harness.emulator)
    upstream.knobs.chunk_size = 3
    upstream.knobs.final_output = False  # the ChatGPT backend's habit, on every side here
    async with sdk_for(mode, harness, jwt) as sdk:
        events, final = await sdk.respond_streamed(model=target.model, input=INPUTS[shape])
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "Echo: hello there"
    assert events[-1].type == "response.completed"
    assert final.output_text == "Echo: hello there"
    assert final.usage is not None
    dumped = final.model_dump()
    assert all(dumped[name] is not None for name in FIELDS)
    check_sent(harness, target, shape)


async def test_a_streamed_final_response_lacking_fields_is_completed(
    harness: Harness, mode: str, target: Target
) -> None:
    jwt = await harness.sign_in()
    upstream = target.upstream(harness.emulator)
    upstream.knobs.final_output = False
    upstream.knobs.omit_response_fields = ("object", "created_at")
    async with sdk_for(mode, harness, jwt) as sdk:
        _, final = await sdk.respond_streamed(model=target.model, input="hello there")
        # A whole answer passed through has no stream its output could be rebuilt from.
        upstream.knobs.final_output = target.provider != "openai"
        whole = await sdk.respond(model=target.model, input="hello there")
    for response in (final, whole):
        assert response.object == "response"
        assert response.created_at > 0
        assert response.output_text == "Echo: hello there"
