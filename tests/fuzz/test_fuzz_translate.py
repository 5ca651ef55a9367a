"""The translators: any JSON-ish Chat Completions body gives a payload or `InvalidRequest`; any
sequence of JSON-object events gives chunks or one documented failure (`UpstreamError`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authai_embed.errors import InvalidRequest, UpstreamError
from authai_embed.proxy.translate.chat_to_responses import chat_to_responses
from authai_embed.proxy.translate.responses_to_chat import (
    ChatStreamTranslator,
    aggregate_chat_completion,
    aggregate_response,
)
from tests.fuzz.strategies import FUZZ, json_values, small_values

FIELDS = [
    "model",
    "messages",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
    "reasoning_summary",
    "n",
    "temperature",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "user",
    "functions",
    "function_call",
    "logprobs",
    "seed",
]
ROLES = st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", ""])
PART_TYPES = st.sampled_from(["text", "image_url", "input_audio", "file", "refusal", "x"])
parts = st.fixed_dictionaries(
    {"type": PART_TYPES},
    optional={
        "text": small_values,
        "image_url": st.fixed_dictionaries({"url": st.text(max_size=40)}) | small_values,
    },
)
tool_calls = st.lists(
    st.fixed_dictionaries(
        {"id": small_values, "type": st.just("function") | small_values},
        optional={
            "function": st.fixed_dictionaries(
                {"name": small_values, "arguments": small_values | st.just("{}")}
            )
        },
    ),
    max_size=3,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": ROLES | small_values},
        optional={
            "content": st.text(max_size=30) | st.lists(parts, max_size=3) | small_values,
            "tool_calls": tool_calls | small_values,
            "tool_call_id": small_values,
            "name": small_values,
        },
    ),
    max_size=6,
)
bodies = st.fixed_dictionaries(
    {"model": st.just("gpt-5.4") | small_values, "messages": messages | small_values},
    optional={name: small_values for name in FIELDS[2:]},
)


@FUZZ
@given(body=bodies)
def test_any_chat_body_translates_or_is_an_invalid_request(body: dict[str, Any]) -> None:
    try:
        chat = chat_to_responses(body, default_instructions="x")
    except InvalidRequest as exc:
        status, message = exc.status, exc.message
    else:
        status, message = 200, "ok"
        assert chat.payload["stream"] is True
        assert isinstance(chat.payload["input"], list)
    assert status == 200 or 400 <= status < 500
    assert message


@FUZZ
@given(body=json_values)
def test_any_json_value_as_a_body_is_at_worst_an_invalid_request(body: Any) -> None:
    try:
        chat_to_responses(body, default_instructions="x")
    except InvalidRequest as exc:
        status = exc.status
    else:
        status = 200
    assert status == 200 or 400 <= status < 500


EVENT_TYPES = st.sampled_from(
    [
        "response.created",
        "response.output_item.added",
        "response.output_item.done",
        "response.output_text.delta",
        "response.output_text.done",
        "response.reasoning_summary_text.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.completed",
        "response.failed",
        "response.incomplete",
        "error",
        "x",
    ]
)
events = st.lists(
    st.fixed_dictionaries(
        {"type": EVENT_TYPES | small_values},
        optional={
            "delta": small_values,
            "item": small_values,
            "output_index": small_values,
            "item_id": small_values,
            "response": small_values,
            "error": small_values,
            "message": small_values,
            "code": small_values,
        },
    ),
    max_size=8,
)


@FUZZ
@given(stream=events, include_usage=st.booleans(), include_reasoning=st.booleans())
def test_any_event_stream_gives_chunks_and_never_crashes(
    stream: list[dict[str, Any]], include_usage: bool, include_reasoning: bool
) -> None:
    translator = ChatStreamTranslator(
        "gpt-5.4",
        include_usage=include_usage,
        include_reasoning=include_reasoning,
        completion_id="chatcmpl-x",
        created=1,
    )
    frames = [frame for event in stream for frame in translator.feed(event)]
    frames.extend(translator.finish())
    assert frames[-1] == b"data: [DONE]\n\n"


@FUZZ
@given(stream=events)
def test_any_event_stream_aggregates_or_is_an_upstream_error(
    stream: list[dict[str, Any]],
) -> None:
    aggregates: tuple[Callable[[], object], ...] = (
        lambda: aggregate_chat_completion(
            stream, model="gpt-5.4", include_reasoning=True, completion_id="c", created=1
        ),
        lambda: aggregate_response(stream),
    )
    for aggregate in aggregates:
        try:
            result = aggregate()
        except UpstreamError as exc:
            status = exc.status
        else:
            status = 200
            assert isinstance(result, dict)
        assert status == 200 or status >= 400


def test_the_event_strategy_reaches_both_outcomes() -> None:
    """Guard against a vacuous property: hand-picked streams hit success and failure."""
    ok = [{"type": "response.completed", "response": {"id": "r", "output": []}}]
    assert isinstance(aggregate_response(ok), dict)
    with pytest.raises(UpstreamError):
        aggregate_response([{"type": "response.output_text.delta", "delta": "x"}])
