"""Responses stream events → Chat Completions chunks and completions (upstream.md section 2-3).

Every emitted chunk is parsed by the official SDK's models, and streams are also accumulated by
the SDK's own `ChatCompletionStreamState`, so the shapes are what OpenAI clients expect.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageFunctionToolCall,
)
from openai.types.responses import Response

from authai_embed.errors import UpstreamError
from authai_embed.proxy.translate.responses_to_chat import (
    ChatCompletionAggregator,
    ChatStreamTranslator,
    ResponseAggregator,
    aggregate_chat_completion,
    aggregate_chat_completion_async,
    aggregate_response,
    aggregate_response_async,
    translate_stream,
)
from authai_embed.proxy.translate.sse import (
    DONE,
    SSEDecoder,
    encode_event,
    iter_json_events,
    parse_json_event,
)

MODEL = "gpt-5.4"
CREATED = 1_800_000_000
COMPLETION_ID = "chatcmpl-test123"
USAGE = {
    "input_tokens": 120,
    "input_tokens_details": {"cached_tokens": 64},
    "output_tokens": 40,
    "output_tokens_details": {"reasoning_tokens": 16},
    "total_tokens": 160,
}
CHAT_USAGE = {
    "prompt_tokens": 120,
    "completion_tokens": 40,
    "total_tokens": 160,
    "prompt_tokens_details": {"cached_tokens": 64},
    "completion_tokens_details": {"reasoning_tokens": 16},
}
Call = tuple[str, str, str]  # call_id, name, arguments


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def upstream(
    *,
    text: str = "",
    reasoning: Sequence[str] = (),
    calls: Sequence[Call] = (),
    end: str = "completed",
    size: int = 4,
    usage: dict[str, Any] | None = USAGE,
) -> list[dict[str, Any]]:
    """The Codex backend's event sequence for one answer, as upstream.md section 2 shows it.

    `end`: `completed`, `max_output_tokens` / `content_filter` (incomplete), `failed`, `error`,
    or `cut` (the stream stops after the last output item, without a terminal event).
    """
    response = {"id": "resp_1", "object": "response", "created_at": CREATED, "model": MODEL}
    events: list[dict[str, Any]] = [
        {
            "type": "response.created",
            "response": {**response, "status": "in_progress", "output": []},
        },
        {
            "type": "response.in_progress",
            "response": {**response, "status": "in_progress", "output": []},
        },
    ]
    output: list[dict[str, Any]] = []
    if reasoning:
        where = {"item_id": "rs_1", "output_index": len(output)}
        item = {"type": "reasoning", "id": "rs_1", "summary": []}
        events.append(
            {"type": "response.output_item.added", "output_index": len(output), "item": item}
        )
        for index, summary in enumerate(reasoning):
            at = {**where, "summary_index": index}
            part: dict[str, Any] = {"type": "summary_text", "text": ""}
            events.append({"type": "response.reasoning_summary_part.added", **at, "part": part})
            for delta in _chunks(summary, size):
                events.append(
                    {"type": "response.reasoning_summary_text.delta", **at, "delta": delta}
                )
            events.append({"type": "response.reasoning_summary_text.done", **at, "text": summary})
            events.append(
                {
                    "type": "response.reasoning_summary_part.done",
                    **at,
                    "part": {**part, "text": summary},
                }
            )
        done = {
            **item,
            "summary": [{"type": "summary_text", "text": s} for s in reasoning],
            "encrypted_content": "gAAAA",
        }
        events.append(
            {"type": "response.output_item.done", "output_index": len(output), "item": done}
        )
        output.append(done)
    if text:
        index = len(output)
        item = {
            "type": "message",
            "id": "msg_1",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        events.append({"type": "response.output_item.added", "output_index": index, "item": item})
        where = {"item_id": "msg_1", "output_index": index, "content_index": 0}
        part = {"type": "output_text", "text": "", "annotations": []}
        events.append({"type": "response.content_part.added", **where, "part": part})
        for delta in _chunks(text, size):
            events.append({"type": "response.output_text.delta", **where, "delta": delta})
        events.append({"type": "response.output_text.done", **where, "text": text})
        events.append(
            {"type": "response.content_part.done", **where, "part": {**part, "text": text}}
        )
        done = {**item, "status": "completed", "content": [{**part, "text": text}]}
        events.append({"type": "response.output_item.done", "output_index": index, "item": done})
        output.append(done)
    for number, (call_id, name, arguments) in enumerate(calls):
        index = len(output)
        item = {
            "type": "function_call",
            "id": f"fc_{number}",
            "call_id": call_id,
            "name": name,
            "arguments": "",
            "status": "in_progress",
        }
        events.append({"type": "response.output_item.added", "output_index": index, "item": item})
        where = {"item_id": f"fc_{number}", "output_index": index}
        for delta in _chunks(arguments, size):
            events.append(
                {"type": "response.function_call_arguments.delta", **where, "delta": delta}
            )
        events.append(
            {"type": "response.function_call_arguments.done", **where, "arguments": arguments}
        )
        done = {**item, "arguments": arguments, "status": "completed"}
        events.append({"type": "response.output_item.done", "output_index": index, "item": done})
        output.append(done)
    final = {
        **response,
        "output": output,
        "usage": usage,
        "error": None,
        "incomplete_details": None,
    }
    if end == "completed":
        events.append({"type": "response.completed", "response": {**final, "status": "completed"}})
    elif end in ("max_output_tokens", "content_filter"):
        details = {"reason": end}
        events.append(
            {
                "type": "response.incomplete",
                "response": {**final, "status": "incomplete", "incomplete_details": details},
            }
        )
    elif end == "failed":
        error = {
            "code": "server_error",
            "message": "An error occurred while processing your request.",
        }
        events.append(
            {
                "type": "response.failed",
                "response": {**final, "status": "failed", "usage": None, "error": error},
            }
        )
    elif end == "error":
        events.append(
            {
                "type": "error",
                "code": "rate_limit_exceeded",
                "message": "Rate limit reached.",
                "param": None,
            }
        )
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def translate(
    events: Sequence[dict[str, Any]],
    *,
    include_usage: bool = False,
    include_reasoning: bool = False,
) -> tuple[list[bytes], ChatStreamTranslator]:
    translator = ChatStreamTranslator(
        MODEL,
        include_usage=include_usage,
        include_reasoning=include_reasoning,
        completion_id=COMPLETION_ID,
        created=CREATED,
    )
    frames = [frame for event in events for frame in translator.feed(event)]
    return frames + translator.finish(), translator


def payloads(frames: list[bytes]) -> list[dict[str, Any]]:
    """The JSON of every frame but the final `[DONE]`, checking the SSE framing on the way."""
    assert frames[-1] == DONE
    assert all(
        f.startswith(b"data: ") and f.endswith(b"\n\n") and f.count(b"\n") == 2 for f in frames
    )
    return [json.loads(f[len(b"data: ") :]) for f in frames[:-1]]


def chunks(frames: list[bytes]) -> list[ChatCompletionChunk]:
    return [ChatCompletionChunk.model_validate(p) for p in payloads(frames)]


def accumulate(frames: list[bytes]) -> ChatCompletion:
    """The SDK's own accumulation of the chunks into one completion (its snapshot: the final
    parse step refuses `length` endings on purpose)."""
    state: ChatCompletionStreamState[None] = ChatCompletionStreamState()
    for chunk in chunks(frames):
        state.handle_chunk(chunk)
    return ChatCompletion.model_validate(state.current_completion_snapshot.to_dict())


def function_calls(message: ChatCompletionMessage) -> list[ChatCompletionMessageFunctionToolCall]:
    """The message's tool calls, each checked to be a function call (the only kind we make)."""
    calls = message.tool_calls or []
    functions = [c for c in calls if isinstance(c, ChatCompletionMessageFunctionToolCall)]
    assert len(functions) == len(calls), calls
    return functions


def aggregate(
    events: Sequence[dict[str, Any]], *, include_reasoning: bool = False
) -> dict[str, Any]:
    return aggregate_chat_completion(
        events,
        model=MODEL,
        include_reasoning=include_reasoning,
        completion_id=COMPLETION_ID,
        created=CREATED,
    )


# -- streaming --------------------------------------------------------------------------------


def test_a_text_answer_streams_as_chat_chunks() -> None:
    frames, translator = translate(upstream(text="Hello, world!", reasoning=["Thinking."]))
    parsed = chunks(frames)
    assert {(c.id, c.created, c.model, c.object) for c in parsed} == {
        (COMPLETION_ID, CREATED, MODEL, "chat.completion.chunk")
    }
    assert parsed[0].choices[0].delta.role == "assistant"
    assert all(c.choices[0].delta.role is None for c in parsed[1:])
    assert "".join(c.choices[0].delta.content or "" for c in parsed) == "Hello, world!"
    assert [c.choices[0].finish_reason for c in parsed].count("stop") == 1
    assert parsed[-1].choices[0].finish_reason == "stop"
    assert translator.done
    assert not translator.failed
    completion = accumulate(frames)
    assert completion.choices[0].message.content == "Hello, world!"
    assert completion.choices[0].finish_reason == "stop"


def test_the_role_chunk_goes_out_on_response_created() -> None:
    translator = ChatStreamTranslator(
        MODEL,
        include_usage=False,
        include_reasoning=False,
        completion_id=COMPLETION_ID,
        created=CREATED,
    )
    [frame] = translator.feed(upstream(text="x")[0])
    assert json.loads(frame[6:])["choices"][0]["delta"] == {"role": "assistant", "content": ""}


def test_function_calls_stream_as_indexed_tool_call_deltas() -> None:
    calls = [("call_a", "weather", '{"city":"Paris"}'), ("call_b", "time", '{"tz":"Europe/Paris"}')]
    frames, _ = translate(upstream(text="Checking.", calls=calls))
    deltas = [
        c.choices[0].delta.tool_calls
        for c in chunks(frames)
        if c.choices and c.choices[0].delta.tool_calls
    ]
    starts = [d[0] for d in deltas if d[0].id is not None]
    assert [(s.index, s.id, s.type, s.function and s.function.name) for s in starts] == [
        (0, "call_a", "function", "weather"),
        (1, "call_b", "function", "time"),
    ]
    for index, (_, _, arguments) in enumerate(calls):
        pieces = [
            d[0].function.arguments or "" for d in deltas if d[0].index == index and d[0].function
        ]
        assert "".join(pieces) == arguments
    completion = accumulate(frames)
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls"
    assert message.content == "Checking."
    assert [(t.id, t.function.name, t.function.arguments) for t in function_calls(message)] == list(
        calls
    )


def test_the_first_tool_call_chunk_has_empty_arguments_as_openai_sends() -> None:
    frames, _ = translate(upstream(calls=[("call_a", "f", "{}")]))
    starts = [
        p for p in payloads(frames) if p["choices"] and "tool_calls" in p["choices"][0]["delta"]
    ]
    assert starts[0]["choices"][0]["delta"]["tool_calls"] == [
        {"index": 0, "id": "call_a", "type": "function", "function": {"name": "f", "arguments": ""}}
    ]


def test_reasoning_summaries_are_hidden_unless_asked_for() -> None:
    events = upstream(text="Hi", reasoning=["First thought.", "Second thought."])
    hidden, _ = translate(events)
    assert not any(
        "reasoning_content" in p["choices"][0]["delta"] for p in payloads(hidden) if p["choices"]
    )
    shown, _ = translate(events, include_reasoning=True)
    reasoning = [
        p["choices"][0]["delta"].get("reasoning_content") for p in payloads(shown) if p["choices"]
    ]
    assert "".join(r for r in reasoning if r) == "First thought.\n\nSecond thought."
    chunks(shown)  # still valid chunks for the SDK


def test_usage_chunk_comes_last_when_asked_for() -> None:
    frames, _ = translate(upstream(text="Hi"), include_usage=True)
    last = payloads(frames)[-1]
    assert last["choices"] == []
    assert last["usage"] == CHAT_USAGE
    assert ChatCompletionChunk.model_validate(last).usage is not None
    without, _ = translate(upstream(text="Hi"))
    assert all("usage" not in p for p in payloads(without))


@pytest.mark.parametrize(
    ("end", "reason"), [("max_output_tokens", "length"), ("content_filter", "content_filter")]
)
def test_an_incomplete_answer_has_its_finish_reason(end: str, reason: str) -> None:
    frames, translator = translate(upstream(text="Partial", end=end), include_usage=True)
    assert accumulate(frames).choices[0].finish_reason == reason
    assert translator.done
    assert translator.finish_reason == reason
    assert payloads(frames)[-1]["usage"] == CHAT_USAGE


@pytest.mark.parametrize(
    ("end", "code"),
    [("failed", "server_error"), ("error", "rate_limit_exceeded"), ("cut", "stream_incomplete")],
)
def test_a_failed_stream_ends_with_an_error_frame_then_done(end: str, code: str) -> None:
    frames, translator = translate(upstream(text="Half an ans", end=end), include_usage=True)
    assert frames[-1] == DONE
    error = json.loads(frames[-2][6:])
    assert set(error) == {"error"}
    assert error["error"]["code"] == code
    assert error["error"]["type"] == "provider_error"
    assert error["error"]["message"]
    assert translator.failed
    assert not translator.done
    assert not any(
        p.get("choices") and p["choices"][0]["finish_reason"] for p in payloads(frames)[:-1]
    )
    assert not any("usage" in p for p in payloads(frames))


def test_an_error_before_anything_sends_no_role_chunk() -> None:
    event = {
        "type": "error",
        "code": "usage_limit_reached",
        "message": "Limit reached.",
        "sequence_number": 0,
    }
    frames, _ = translate([event])
    error = b'{"message":"Limit reached.","type":"provider_error","code":"usage_limit_reached"}'
    assert frames == [b'data: {"error":' + error + b"}\n\n", DONE]


def test_a_nested_error_event_is_understood() -> None:
    event = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "code": "context_length_exceeded",
            "message": "Too long.",
        },
    }
    _, translator = translate([event])
    assert translator.error == {
        "message": "Too long.",
        "type": "provider_error",
        "code": "context_length_exceeded",
    }


def test_events_after_the_end_are_ignored_and_finish_runs_once() -> None:
    events = upstream(text="Hi")
    translator = ChatStreamTranslator(
        MODEL,
        include_usage=False,
        include_reasoning=False,
        completion_id=COMPLETION_ID,
        created=CREATED,
    )
    for event in events:
        translator.feed(event)
    assert translator.feed(events[3]) == []
    assert translator.feed({"type": "error", "message": "late"}) == []
    assert translator.finish() == [DONE]
    assert translator.finish() == []


def test_unknown_and_malformed_events_are_ignored() -> None:
    events = upstream(text="Hi")
    noise: list[dict[str, Any]] = [
        {"type": "response.queued"},
        {"type": "codex.rate_limits", "primary": {}},
        {"no": "type"},
        {"type": "response.output_text.delta", "delta": 5},
        {"type": "response.function_call_arguments.delta", "item_id": "nope", "delta": "x"},
        {"type": "response.output_item.added", "item": "not an item"},
    ]
    frames, _ = translate([events[0], *noise, *events[1:]])
    assert accumulate(frames).choices[0].message.content == "Hi"


def test_events_with_unhashable_ids_do_not_crash() -> None:
    events = upstream(text="Hi")
    odd: list[dict[str, Any]] = [
        {"type": "response.output_text.delta", "item_id": [1], "content_index": {}, "delta": "x"},
        {
            "type": "response.function_call_arguments.delta",
            "item_id": {},
            "output_index": [],
            "delta": "y",
        },
        {
            "type": "response.output_item.added",
            "output_index": [0],
            "item": {"type": "function_call", "id": ["a"]},
        },
    ]
    frames, _ = translate([*events[:-1], *odd, events[-1]])
    assert accumulate(frames).choices[0].message.content == "Hix"


def test_text_missing_from_the_deltas_is_recovered_from_the_finished_item() -> None:
    events = [
        e
        for e in upstream(text="Hello there", calls=[("call_a", "f", '{"a":1}')])
        if not e["type"].endswith(".delta")
    ]
    frames, _ = translate(events)
    message = accumulate(frames).choices[0].message
    assert message.content == "Hello there"
    assert message.tool_calls
    assert function_calls(message)[0].function.arguments == '{"a":1}'


def test_an_answer_only_in_response_completed_is_recovered() -> None:
    events = upstream(text="Only at the end", calls=[("call_a", "f", "{}")])
    terse = [events[0], events[-1]]
    frames, _ = translate(terse)
    message = accumulate(frames).choices[0].message
    assert message.content == "Only at the end"
    assert message.tool_calls
    assert message.tool_calls[0].id == "call_a"


def test_nothing_is_emitted_twice() -> None:
    frames, _ = translate(upstream(text="Hello", calls=[("call_a", "f", '{"x":"y"}')], size=2))
    assert accumulate(frames).choices[0].message.content == "Hello"
    assert aggregate(upstream(text="Hello", size=2))["choices"][0]["message"]["content"] == "Hello"


def test_non_ascii_and_lone_surrogates_survive() -> None:
    text = "Grüße, 世界 🌍 \ud83d"
    frames, _ = translate(upstream(text=text, size=3))
    assert accumulate(frames).choices[0].message.content == text


def test_translation_after_sse_decoding_matches_direct_translation() -> None:
    events = upstream(text="Hello, world!", reasoning=["Hmm."], calls=[("call_a", "f", '{"q":1}')])
    wire = b"".join(encode_event(e["type"], e) for e in events)
    decoder = SSEDecoder()
    decoded = [
        parse_json_event(ev) for i in range(0, len(wire), 5) for ev in decoder.feed(wire[i : i + 5])
    ]
    assert translate([e for e in decoded if e is not None])[0] == translate(events)[0]


# -- aggregation ------------------------------------------------------------------------------


def test_aggregate_builds_one_chat_completion() -> None:
    completion = aggregate(upstream(text="Hello!", reasoning=["Thought."]), include_reasoning=True)
    parsed = ChatCompletion.model_validate(completion)
    assert (parsed.id, parsed.created, parsed.model, parsed.object) == (
        COMPLETION_ID,
        CREATED,
        MODEL,
        "chat.completion",
    )
    assert parsed.choices[0].message.content == "Hello!"
    assert parsed.choices[0].message.role == "assistant"
    assert parsed.choices[0].finish_reason == "stop"
    assert completion["choices"][0]["message"]["reasoning_content"] == "Thought."
    assert completion["usage"] == CHAT_USAGE


def test_aggregate_with_only_tool_calls_has_no_content() -> None:
    calls = [("call_a", "weather", '{"city":"Paris"}'), ("call_b", "time", "{}")]
    completion = aggregate(upstream(calls=calls))
    parsed = ChatCompletion.model_validate(completion)
    message = parsed.choices[0].message
    assert message.content is None
    assert parsed.choices[0].finish_reason == "tool_calls"
    assert [
        (t.id, t.type, t.function.name, t.function.arguments) for t in function_calls(message)
    ] == [
        ("call_a", "function", "weather", '{"city":"Paris"}'),
        ("call_b", "function", "time", "{}"),
    ]
    assert "reasoning_content" not in completion["choices"][0]["message"]


def test_aggregate_of_an_empty_answer_has_empty_content() -> None:
    completion = aggregate(upstream(usage=None))
    assert completion["choices"][0]["message"]["content"] == ""
    assert "usage" not in completion
    ChatCompletion.model_validate(completion)


@pytest.mark.parametrize(
    ("end", "status", "code"),
    [
        ("failed", 502, "server_error"),
        ("error", 429, "rate_limit_exceeded"),
        ("cut", 502, "stream_incomplete"),
    ],
)
def test_aggregate_raises_the_upstream_failure(end: str, status: int, code: str) -> None:
    with pytest.raises(UpstreamError) as caught:
        aggregate(upstream(text="Hi", end=end))
    assert (caught.value.status, caught.value.code) == (status, code)
    assert caught.value.message


def test_aggregate_and_stream_agree() -> None:
    events = upstream(
        text="Same answer",
        reasoning=["Why."],
        calls=[("call_a", "f", '{"k":[1,2]}')],
        end="max_output_tokens",
    )
    streamed = accumulate(translate(events, include_reasoning=True)[0]).choices[0]
    aggregated = ChatCompletion.model_validate(aggregate(events, include_reasoning=True)).choices[0]
    assert streamed.finish_reason == aggregated.finish_reason == "length"
    assert streamed.message.content == aggregated.message.content
    assert [t.function.arguments for t in function_calls(streamed.message)] == [
        t.function.arguments for t in function_calls(aggregated.message)
    ]


def test_the_aggregator_can_be_fed_incrementally() -> None:
    aggregator = ChatCompletionAggregator(
        MODEL, include_reasoning=False, completion_id=COMPLETION_ID, created=CREATED
    )
    for event in upstream(text="Step by step"):
        aggregator.handle(event)
    assert aggregator.done
    assert aggregator.result()["choices"][0]["message"]["content"] == "Step by step"


def test_aggregate_response_returns_the_final_response() -> None:
    events = upstream(text="Hello", calls=[("call_a", "f", "{}")])
    response = aggregate_response(events)
    assert response == events[-1]["response"]
    # The fields the test stream leaves out, and usage, which this SDK version types more
    # strictly than the backend sends it (`cache_write_tokens`): the output is what matters here.
    shaped = {**response, "usage": None, "parallel_tool_calls": True, "tool_choice": "auto"}
    parsed = Response.model_validate({**shaped, "tools": []})
    assert parsed.output_text == "Hello"
    assert [item.type for item in parsed.output] == ["message", "function_call"]


def test_aggregate_response_fills_an_empty_output_from_the_items() -> None:
    events = upstream(text="Hello", calls=[("call_a", "f", "{}")])
    expected = events[-1]["response"]["output"]
    events[-1]["response"] = {**events[-1]["response"], "output": []}
    assert aggregate_response(events)["output"] == expected


def test_aggregate_response_returns_an_incomplete_response() -> None:
    assert (
        aggregate_response(upstream(text="Hi", end="max_output_tokens"))["status"] == "incomplete"
    )


@pytest.mark.parametrize(
    ("end", "code"),
    [("failed", "server_error"), ("error", "rate_limit_exceeded"), ("cut", "stream_incomplete")],
)
def test_aggregate_response_raises_the_upstream_failure(end: str, code: str) -> None:
    with pytest.raises(UpstreamError) as caught:
        aggregate_response(upstream(text="Hi", end=end))
    assert caught.value.code == code


async def _wire(events: Sequence[dict[str, Any]], size: int = 37) -> AsyncIterator[bytes]:
    """The events as the backend sends them: `event:`/`data:` frames, cut into odd chunks."""
    stream = b"".join(encode_event(event["type"], event) for event in events)
    for start in range(0, len(stream), size):
        yield stream[start : start + size]


def test_async_aggregation_reads_events_as_they_arrive_off_the_wire() -> None:
    events = upstream(text="Hello async", reasoning=["Hm."], calls=[("call_a", "f", '{"a":1}')])

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        completion = await aggregate_chat_completion_async(
            iter_json_events(_wire(events)),
            model=MODEL,
            include_reasoning=True,
            completion_id=COMPLETION_ID,
            created=CREATED,
        )
        return completion, await aggregate_response_async(iter_json_events(_wire(events)))

    completion, response = anyio.run(run)
    assert completion == aggregate(events, include_reasoning=True)
    ChatCompletion.model_validate(completion)
    assert completion["choices"][0]["message"]["content"] == "Hello async"
    assert completion["choices"][0]["finish_reason"] == "tool_calls"
    assert response == aggregate_response(events) == events[-1]["response"]


@pytest.mark.parametrize(
    ("end", "status", "code"),
    [
        ("failed", 502, "server_error"),
        ("error", 429, "rate_limit_exceeded"),
        ("cut", 502, "stream_incomplete"),
    ],
)
def test_async_aggregation_raises_the_upstream_failure(end: str, status: int, code: str) -> None:
    events = upstream(text="Hi", end=end)

    async def chat() -> dict[str, Any]:
        return await aggregate_chat_completion_async(
            iter_json_events(_wire(events)),
            model=MODEL,
            include_reasoning=False,
            completion_id=COMPLETION_ID,
            created=CREATED,
        )

    async def response() -> dict[str, Any]:
        return await aggregate_response_async(iter_json_events(_wire(events)))

    for run in (chat, response):
        with pytest.raises(UpstreamError) as caught:
            anyio.run(run)
        assert (caught.value.status, caught.value.code) == (status, code)


def test_aggregation_stops_reading_at_the_terminal_event() -> None:
    def then_explode(events: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        yield from events
        raise AssertionError("read past the terminal event")

    events = upstream(text="Done.")
    assert aggregate_response(then_explode(events))["status"] == "completed"
    completion = aggregate_chat_completion(
        then_explode(events),
        model=MODEL,
        include_reasoning=False,
        completion_id=COMPLETION_ID,
        created=CREATED,
    )
    assert completion["choices"][0]["message"]["content"] == "Done."


def test_the_response_aggregator_can_be_fed_incrementally() -> None:
    aggregator = ResponseAggregator()
    events = upstream(text="Bit by bit")
    for event in events:
        aggregator.handle(event)
    assert aggregator.finished
    aggregator.handle({"type": "error", "message": "late"})  # after the end: ignored
    assert aggregator.result() == events[-1]["response"]


# -- properties -------------------------------------------------------------------------------

answer_text = st.text(st.characters(codec="utf-8"), max_size=60)
arguments_text = st.dictionaries(
    st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3
).map(json.dumps)


@settings(max_examples=150, deadline=None)
@given(
    text=answer_text,
    calls=st.lists(arguments_text, max_size=3),
    size=st.integers(min_value=1, max_value=7),
    end=st.sampled_from(["completed", "max_output_tokens", "content_filter"]),
)
def test_any_answer_survives_streaming_and_aggregation(
    text: str, calls: list[str], size: int, end: str
) -> None:
    events = upstream(
        text=text,
        calls=[(f"call_{i}", f"f{i}", a) for i, a in enumerate(calls)],
        size=size,
        end=end,
    )
    streamed = accumulate(translate(events)[0]).choices[0]
    aggregated = ChatCompletion.model_validate(aggregate(events)).choices[0]
    for choice in (streamed, aggregated):
        assert (choice.message.content or "") == text
        assert [t.function.arguments for t in function_calls(choice.message)] == calls
    expected = {"completed": "tool_calls" if calls else "stop", "max_output_tokens": "length"}.get(
        end, end
    )
    assert streamed.finish_reason == aggregated.finish_reason == expected


EVENT_TYPES = [
    "response.created",
    "response.output_text.delta",
    "response.output_text.done",
    "response.refusal.delta",
    "response.refusal.done",
    "response.reasoning_summary_text.delta",
    "response.output_item.added",
    "response.output_item.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "error",
]
junk = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 3) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["type", "id", "call_id", "name", "arguments", "content", "text", "delta"]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=10,
)
junk_event = st.fixed_dictionaries(
    {"type": st.sampled_from(EVENT_TYPES)},
    optional={
        key: junk
        for key in [
            "delta",
            "text",
            "refusal",
            "arguments",
            "item_id",
            "output_index",
            "content_index",
            "summary_index",
            "item",
            "response",
            "code",
            "message",
            "error",
        ]
    },
)


@settings(max_examples=300, deadline=None)
@given(events=st.lists(junk_event, max_size=12), include_reasoning=st.booleans())
def test_arbitrary_events_never_break_the_translator(
    events: list[dict[str, Any]], include_reasoning: bool
) -> None:
    frames, translator = translate(events, include_usage=True, include_reasoning=include_reasoning)
    parsed = payloads(frames)
    assert translator.done != translator.failed
    if translator.failed:
        assert set(parsed[-1]) == {"error"}
    else:
        for payload in parsed:
            ChatCompletionChunk.model_validate(payload)
    aggregated_failed = False
    try:
        aggregate(events, include_reasoning=include_reasoning)
    except UpstreamError:
        aggregated_failed = True
    assert aggregated_failed == translator.failed  # both forms read the events the same way
    with contextlib.suppress(UpstreamError):
        aggregate_response(events)


def _stream_translator() -> ChatStreamTranslator:
    return ChatStreamTranslator(
        MODEL,
        include_usage=True,
        include_reasoning=True,
        completion_id=COMPLETION_ID,
        created=CREATED,
    )


async def _pieces(chunks: AsyncIterator[bytes]) -> tuple[list[bytes], UpstreamError | None]:
    pieces: list[bytes] = []
    try:
        async for piece in translate_stream(chunks, _stream_translator()):
            pieces.append(piece)
    except UpstreamError as exc:
        return pieces, exc
    return pieces, None


@pytest.mark.parametrize("size", [1, 7, 37, 10_000])
def test_translate_stream_sends_the_same_bytes_one_piece_per_upstream_chunk(size: int) -> None:
    events = upstream(text="Hello, pieces!", reasoning=["Hm."], calls=[("call_a", "f", "{}")])
    frames, _ = translate(events, include_usage=True, include_reasoning=True)
    pieces, error = anyio.run(_pieces, _wire(events, size))
    assert error is None
    assert b"".join(pieces) == b"".join(frames)
    stream_size = len(b"".join(encode_event(e["type"], e) for e in events))
    assert len(pieces) <= -(-stream_size // size) + 1  # at most one per chunk, plus the close
    assert pieces[-1].endswith(DONE)


def test_translate_stream_hands_over_earlier_frames_before_a_malformed_event() -> None:
    events = upstream(text="Hi")
    good = b"".join(encode_event(e["type"], e) for e in events[:4])

    async def wire() -> AsyncIterator[bytes]:
        yield good + b"event: response.output_text.delta\ndata: {not json\n\n"

    pieces, error = anyio.run(_pieces, wire())
    assert error is not None
    assert error.code == "malformed_stream"
    frames, _ = translate(events[:4])
    assert b"".join(pieces) == b"".join(frames[:-2])  # not the error frame nor [DONE]
