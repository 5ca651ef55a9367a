"""Properties of the Anthropic translation: any JSON-ish request is translated (into a body the
chat path accepts or refuses cleanly) or refused with `InvalidRequest`; any chunks a provider
might send give frames or an `error` event, never an exception."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from authai_embed.asgi.errors import anthropic_stream_error
from authai_embed.errors import InvalidRequest, UpstreamError
from authai_embed.proxy.translate.anthropic_request import messages_to_chat
from authai_embed.proxy.translate.anthropic_response import chat_to_message
from authai_embed.proxy.translate.anthropic_stream import AnthropicStreamTranslator
from authai_embed.proxy.translate.chat_to_responses import chat_to_responses
from authai_embed.proxy.translate.sse import SSEDecoder

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
)
WORDS = [
    "user",
    "assistant",
    "text",
    "image",
    "tool_use",
    "tool_result",
    "thinking",
    "base64",
    "url",
    "image/png",
    "auto",
    "any",
    "tool",
    "none",
    "enabled",
    "json_schema",
    "t1",
    "stop",
    "tool_calls",
    "length",
]
KEYS = [
    "type",
    "role",
    "content",
    "text",
    "source",
    "media_type",
    "data",
    "url",
    "id",
    "name",
    "input",
    "tool_use_id",
    "is_error",
    "input_schema",
    "budget_tokens",
    "effort",
    "format",
    "schema",
    "index",
    "delta",
    "tool_calls",
    "function",
    "arguments",
    "finish_reason",
    "choices",
    "usage",
    "error",
    "message",
    "refusal",
]
guided = st.recursive(
    scalars | st.sampled_from(WORDS),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=25,
)
TOP = [
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
    "stop_sequences",
    "stream",
    "temperature",
]
bodies = st.fixed_dictionaries(
    {"model": st.just("m"), "max_tokens": st.just(2048)},
    optional={key: guided for key in TOP},
)


@settings(max_examples=200, deadline=None)
@given(body=bodies | guided)
def test_any_request_is_translated_or_refused_with_invalid_request(body: Any) -> None:
    refusal: InvalidRequest | None = None
    try:
        asked = messages_to_chat(body)
    except InvalidRequest as error:
        refusal = error
    if refusal is not None:
        assert refusal.message
        assert refusal.status in (400, 413)
        return
    assert asked.chat["model"] == "m"
    try:  # what the chat path makes of it: a request, or a clean refusal
        chat = chat_to_responses(asked.chat)
    except InvalidRequest as error:
        refusal = error
    if refusal is not None:
        assert refusal.message
    else:
        assert chat.payload["model"] == "m"


@settings(max_examples=150, deadline=None)
@given(chunks=st.lists(guided, max_size=6), stop=st.lists(st.sampled_from(["t", "xt"]), max_size=2))
def test_any_chunks_give_well_formed_frames(chunks: list[Any], stop: list[str]) -> None:
    translator = AnthropicStreamTranslator(
        model="m", message_id="msg_1", stop=tuple(stop), error_event=anthropic_stream_error
    )
    frames: list[bytes] = []
    for chunk in chunks:
        if isinstance(chunk, dict):
            frames += translator.feed(chunk)
    frames += translator.finish()
    events = SSEDecoder().feed(b"".join(frames))
    assert events
    assert all(isinstance(json.loads(event.data), dict) for event in events)
    assert events[-1].event in ("message_stop", "error")
    assert translator.ended


@settings(max_examples=150, deadline=None)
@given(answer=guided)
def test_any_whole_answer_is_told_or_is_a_502(answer: Any) -> None:
    if not isinstance(answer, dict):
        return
    failure: UpstreamError | None = None
    try:
        message = chat_to_message(answer, model="m", message_id="msg_1", stop=("t",))
    except UpstreamError as error:
        failure = error
    if failure is not None:
        assert failure.status == 502
        return
    assert message["type"] == "message"
    assert isinstance(message["content"], list)
