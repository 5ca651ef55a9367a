"""litellm's `completion` and `responses` with the mount as `api_base` (`openai/<model>`):
plain and streamed answers with usage, a tool round trip, structured output, and the Responses
API with string and list input, streamed and not. Synchronous calls, as most litellm users make
them, in a worker thread. litellm has no model listing of an arbitrary base (NA)."""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import anyio.to_thread
import pytest

from tests._support.clients import (
    ECHO,
    MODEL,
    PROMPT,
    STRUCTURED,
    TIMEOUT,
    WEATHER_ANSWER,
    WEATHER_ARGS,
    WEATHER_CALL,
    WEATHER_RESULT,
    WEATHER_TOOL,
    Mount,
    require_module,
    tool_outputs,
)

pytestmark = [
    pytest.mark.anyio,
    # litellm's own imports warn about its dependencies; not the mount's concern.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
]

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
    "additionalProperties": False,
}


@pytest.fixture(autouse=True)
def close_litellm_clients() -> Iterator[None]:
    """Close the HTTP clients litellm caches module-wide once the test is done, so their
    sockets are not left for the garbage collector to find in a later test."""
    yield
    import sys

    litellm = sys.modules.get("litellm")
    if litellm is None:
        return
    cached = list(litellm.in_memory_llm_clients_cache.cache_dict.values())
    for client in [litellm.module_level_client, *cached]:
        close = getattr(client, "close", None)
        if callable(close) and not inspect.iscoroutinefunction(close):
            close()
    litellm.in_memory_llm_clients_cache.flush_cache()


async def litellm_call(mount: Mount, fn: Callable[[Any, dict[str, Any]], Any]) -> Any:
    """`fn(litellm, options)` in a worker thread; options point it at the mount."""
    require_module("litellm")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no download at import
    import litellm

    options = {
        "model": f"openai/{MODEL}",
        "api_base": mount.v1,
        "api_key": mount.jwt,
        "timeout": TIMEOUT,
    }
    return await anyio.to_thread.run_sync(lambda: fn(litellm, options))


async def test_completion_plain_and_streamed_with_usage(mount: Mount) -> None:
    messages = [{"role": "user", "content": PROMPT}]
    plain = await litellm_call(mount, lambda lite, o: lite.completion(messages=messages, **o))
    chunks = await litellm_call(
        mount,
        lambda lite, o: list(
            lite.completion(
                messages=messages, stream=True, stream_options={"include_usage": True}, **o
            )
        ),
    )
    assert plain.choices[0].message.content == ECHO
    assert plain.usage.total_tokens > 0
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ECHO
    assert any(getattr(c, "usage", None) and c.usage.total_tokens > 0 for c in chunks)


async def test_completion_tool_round_trip(mount: Mount) -> None:
    mount.upstream.script(WEATHER_CALL, WEATHER_ANSWER)
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    first = await litellm_call(
        mount, lambda lite, o: lite.completion(messages=messages, tools=[WEATHER_TOOL], **o)
    )
    call = first.choices[0].message.tool_calls[0]
    assert json.loads(call.function.arguments) == WEATHER_ARGS
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": WEATHER_RESULT})
    second = await litellm_call(
        mount, lambda lite, o: lite.completion(messages=messages, tools=[WEATHER_TOOL], **o)
    )
    assert second.choices[0].message.content == WEATHER_ANSWER
    assert tool_outputs(mount.bodies()[-1]) == [WEATHER_RESULT]


async def test_completion_structured_output(mount: Mount) -> None:
    mount.upstream.script(json.dumps(STRUCTURED))
    fmt = {"type": "json_schema", "json_schema": {"name": "city", "schema": SCHEMA, "strict": True}}
    answer = await litellm_call(
        mount,
        lambda lite, o: lite.completion(
            messages=[{"role": "user", "content": PROMPT}], response_format=fmt, **o
        ),
    )
    assert json.loads(answer.choices[0].message.content) == STRUCTURED
    assert mount.bodies()[-1]["text"]["format"]["schema"] == SCHEMA


@pytest.mark.parametrize("given", [PROMPT, [{"role": "user", "content": PROMPT}]])
async def test_responses_plain_and_streamed(mount: Mount, given: Any) -> None:
    plain = await litellm_call(mount, lambda lite, o: lite.responses(input=given, **o))
    events = await litellm_call(
        mount, lambda lite, o: list(lite.responses(input=given, stream=True, **o))
    )
    texts = [part.text for item in plain.output if item.type == "message" for part in item.content]
    assert texts == [ECHO]
    assert plain.usage.total_tokens > 0
    deltas = "".join(
        e.delta for e in events if getattr(e, "type", None) == "response.output_text.delta"
    )
    assert deltas == ECHO
    assert events[-1].type == "response.completed"
    assert events[-1].response.usage.total_tokens > 0
