"""Chat Completions answers → Anthropic Messages answers, whole and streamed.

Every message is validated by the official SDK's `Message` model and every stream event by its
`RawMessageStreamEvent` union, so the shapes are the ones Anthropic clients read.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from authai_embed.asgi.errors import anthropic_stream_error
from authai_embed.errors import UpstreamError
from authai_embed.proxy.translate.anthropic_response import (
    StopScanner,
    chat_to_message,
    stop_reason,
    usage_of,
)
from authai_embed.proxy.translate.anthropic_stream import (
    AnthropicStreamTranslator,
    translate_chat_stream,
)
from authai_embed.proxy.translate.sse import SSEDecoder

EVENT: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)
USAGE = {
    "prompt_tokens": 30,
    "completion_tokens": 7,
    "total_tokens": 37,
    "prompt_tokens_details": {"cached_tokens": 10},
}


def completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": USAGE,
    }


def whole(answer: Mapping[str, Any], stop: tuple[str, ...] = ()) -> Message:
    message = chat_to_message(answer, model="gpt-5.4", message_id="msg_1", stop=stop)
    return Message.model_validate(message)


@pytest.mark.parametrize(
    ("finish", "reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
        ("something_new", "end_turn"),
        (None, "end_turn"),
    ],
)
def test_finish_reasons_become_stop_reasons(finish: Any, reason: str) -> None:
    assert stop_reason(finish) == reason


def test_usage_counts_cached_tokens_apart() -> None:
    assert usage_of(USAGE) == {
        "input_tokens": 20,
        "output_tokens": 7,
        "cache_read_input_tokens": 10,
        "cache_creation_input_tokens": 0,
    }
    assert usage_of(None) == {"input_tokens": 0, "output_tokens": 0}


def test_a_whole_answer_with_text_and_tool_calls() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "w", "arguments": '{"a":1}'}}
    message = whole(
        completion({"role": "assistant", "content": "Hm.", "tool_calls": [call]}, "tool_calls")
    )
    assert message.id == "msg_1"
    assert message.model == "gpt-5.4"
    assert [b.type for b in message.content] == ["text", "tool_use"]
    assert message.content[0].text == "Hm."  # type: ignore[union-attr]
    tool = message.content[1]
    assert (tool.id, tool.name, tool.input) == ("call_1", "w", {"a": 1})  # type: ignore[union-attr]
    assert message.stop_reason == "tool_use"
    assert message.usage.input_tokens == 20
    assert message.usage.cache_read_input_tokens == 10


def test_a_refusal_is_told_as_text_with_the_refusal_stop_reason() -> None:
    message = whole(completion({"role": "assistant", "content": None, "refusal": "No."}))
    assert message.content[0].text == "No."  # type: ignore[union-attr]
    assert message.stop_reason == "refusal"


def test_a_stop_sequence_truncates_a_whole_answer_and_its_tool_calls() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "w", "arguments": "{}"}}
    answer = completion({"role": "assistant", "content": "a STOP b", "tool_calls": [call]})
    message = whole(answer, stop=("zzz", "STOP"))
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "a "  # type: ignore[union-attr]
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "STOP")


@pytest.mark.parametrize(
    "answer",
    [
        {"choices": []},
        completion(
            {"role": "assistant", "tool_calls": [{"id": "c", "function": {"arguments": "[1]"}}]}
        ),
        completion({"role": "assistant", "tool_calls": [{"id": "c", "function": "x"}]}),
    ],
)
def test_an_answer_that_cannot_be_told_is_a_502(answer: dict[str, Any]) -> None:
    with pytest.raises(UpstreamError) as raised:
        whole(answer)
    assert raised.value.status == 502


@pytest.mark.parametrize("split", range(1, 12))
def test_the_stop_scanner_finds_a_sequence_however_the_text_is_cut(split: int) -> None:
    text = "abc ST STOP tail"
    scanner = StopScanner(("STOP",))
    out = scanner.feed(text[:split]) + scanner.feed(text[split:]) + scanner.feed("more")
    assert out == "abc ST "
    assert scanner.matched == "STOP"


def test_the_stop_scanner_holds_back_only_a_possible_start() -> None:
    scanner = StopScanner(("STOP",))
    assert scanner.feed("abc S") == "abc "
    assert scanner.feed("x") == "Sx"
    assert scanner.feed("ST") == ""
    assert scanner.flush() == "ST"
    assert scanner.matched is None
    assert StopScanner(()).feed("STOP") == "STOP"


# -- the stream -------------------------------------------------------------------------------


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta or {}, "finish_reason": finish}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [choice]}


def usage_chunk() -> dict[str, Any]:
    return {"id": "chatcmpl-1", "choices": [], "usage": USAGE}


def translator(stop: tuple[str, ...] = ()) -> AnthropicStreamTranslator:
    return AnthropicStreamTranslator(
        model="gpt-5.4", message_id="msg_1", stop=stop, error_event=anthropic_stream_error
    )


def events(frames: list[bytes]) -> list[tuple[str, dict[str, Any]]]:
    """Each frame's event name and data, the data checked against the SDK's event models."""
    decoder = SSEDecoder()
    out: list[tuple[str, dict[str, Any]]] = []
    for event in decoder.feed(b"".join(frames)):
        data = json.loads(event.data)
        if event.event not in ("ping", "error"):
            EVENT.validate_python(data)
        out.append((event.event, data))
    return out


def run(
    chunks: list[dict[str, Any]], stop: tuple[str, ...] = ()
) -> list[tuple[str, dict[str, Any]]]:
    t = translator(stop)
    frames = [frame for c in chunks for frame in t.feed(c)]
    return events(frames + t.finish())


def test_a_text_stream_has_anthropics_event_sequence() -> None:
    seen = run(
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "Hel"}),
            chunk({"content": "lo"}),
            chunk(finish="stop"),
            usage_chunk(),
        ]
    )
    assert [name for name, _ in seen] == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = seen[0][1]["message"]
    assert (start["id"], start["model"], start["content"]) == ("msg_1", "gpt-5.4", [])
    assert seen[2][1]["content_block"] == {"type": "text", "text": ""}
    assert [d["delta"]["text"] for _, d in seen[3:5]] == ["Hel", "lo"]
    end = seen[6][1]
    assert end["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert end["usage"]["output_tokens"] == 7
    assert end["usage"]["input_tokens"] == 20
    assert end["usage"]["cache_read_input_tokens"] == 10


def test_tool_calls_stream_as_tool_use_blocks_with_json_deltas() -> None:
    seen = run(
        [
            chunk({"content": "Let me see."}),
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "c0",
                            "type": "function",
                            "function": {"name": "w", "arguments": ""},
                        }
                    ]
                }
            ),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 1,
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "w", "arguments": "{}"},
                        }
                    ]
                }
            ),
            chunk(finish="tool_calls"),
        ]
    )
    starts = [d for name, d in seen if name == "content_block_start"]
    assert [s["content_block"]["type"] for s in starts] == ["text", "tool_use", "tool_use"]
    assert starts[1]["content_block"] == {"type": "tool_use", "id": "c0", "name": "w", "input": {}}
    assert [s["index"] for s in starts] == [0, 1, 2]
    partial = {d["index"]: "" for name, d in seen if name == "content_block_delta"}
    for name, d in seen:
        if name == "content_block_delta" and d["delta"]["type"] == "input_json_delta":
            partial[d["index"]] += d["delta"]["partial_json"]
    assert json.loads(partial[1]) == {"city": "Paris"}
    assert json.loads(partial[2]) == {}
    assert [d["index"] for name, d in seen if name == "content_block_stop"] == [0, 1, 2]
    assert seen[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_an_error_chunk_ends_the_stream_with_an_error_event() -> None:
    error = {
        "error": {"message": "slow down", "type": "provider_error", "code": "rate_limit_exceeded"}
    }
    t = translator()
    frames = t.feed(chunk({"content": "Hi"})) + t.feed(error)
    assert t.ended
    frames += t.feed(chunk({"content": "more"})) + t.finish()
    seen = events(frames)
    assert seen[-1] == (
        "error",
        {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
    )
    assert sum(1 for name, _ in seen if name == "error") == 1
    assert "message_stop" not in [name for name, _ in seen]


def test_a_stream_without_a_finish_reason_ends_in_an_error_not_a_message_stop() -> None:
    seen = run([chunk({"content": "Hi"})])
    assert seen[-1][0] == "error"
    assert seen[-1][1]["error"]["type"] == "api_error"
    assert "message_stop" not in [name for name, _ in seen]


def test_a_stop_sequence_ends_the_stream_where_it_appears() -> None:
    t = translator(("STOP",))
    frames = t.feed(chunk({"content": "one ST"})) + t.feed(chunk({"content": "OP two"}))
    assert t.ended
    seen = events(frames + t.finish())
    text = "".join(d["delta"]["text"] for name, d in seen if name == "content_block_delta")
    assert text == "one "
    assert seen[-2][1]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "STOP"}
    assert seen[-1][0] == "message_stop"


def sse(*objects: dict[str, Any] | str) -> bytes:
    return b"".join(
        b"data: " + (o.encode() if isinstance(o, str) else json.dumps(o).encode()) + b"\n\n"
        for o in objects
    )


async def collect(pieces: list[bytes], t: AnthropicStreamTranslator) -> tuple[bytes, int]:
    """The translated bytes, and how many upstream pieces were read."""
    read = 0

    async def source() -> AsyncIterator[bytes]:
        nonlocal read
        for piece in pieces:
            read += 1
            yield piece

    out = b"".join([frame async for frame in translate_chat_stream(source(), t)])
    return out, read


def test_the_byte_stream_is_translated_and_reading_stops_at_a_stop_sequence() -> None:
    pieces = [
        sse(chunk({"content": "a"})),
        sse(chunk({"content": "b STOP"})),
        sse(chunk({"content": "never read"})),
        sse(chunk(finish="stop"), "[DONE]"),
    ]
    out, read = anyio.run(collect, pieces, translator(("STOP",)))
    assert read == 2
    seen = events([out])
    assert seen[-1][0] == "message_stop"
    assert "never" not in out.decode()


def test_the_byte_stream_ends_normally_and_a_malformed_frame_is_an_error() -> None:
    good = [sse(chunk({"content": "a"}), chunk(finish="stop"), usage_chunk(), "[DONE]")]
    out, _ = anyio.run(collect, good, translator())
    assert events([out])[-1][0] == "message_stop"
    bad = [sse(chunk({"content": "a"})), b"data: {not json\n\n"]
    out, _ = anyio.run(collect, bad, translator())
    last = events([out])[-1]
    assert last[0] == "error"
    assert last[1]["error"]["type"] == "api_error"


def test_a_streamed_refusal_is_text_with_the_refusal_stop_reason() -> None:
    seen = run([chunk({"refusal": "I can't"}), chunk(finish="stop")])
    text = "".join(d["delta"]["text"] for name, d in seen if name == "content_block_delta")
    assert text == "I can't"
    assert seen[-2][1]["delta"]["stop_reason"] == "refusal"
