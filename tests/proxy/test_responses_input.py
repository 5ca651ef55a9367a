"""The pure parts of `/v1/responses`: input normalised to typed items, made stateless, and
response objects completed from the stream."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from authai_embed.errors import InvalidRequest
from authai_embed.proxy.translate.response_fill import (
    REQUIRED_FIELDS,
    ResponseDefaults,
    ResponseFiller,
)
from authai_embed.proxy.translate.responses_input import stateless, typed_input

DEFAULTS = ResponseDefaults("resp_ours", 1_800_000_000, "gpt-5.4")


def text_message(role: str, kind: str, text: str) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


def test_a_string_becomes_one_user_message_with_an_input_text_part() -> None:
    assert typed_input("hello") == [text_message("user", "input_text", "hello")]


@pytest.mark.parametrize(
    ("role", "kind"),
    [
        ("user", "input_text"),
        ("developer", "input_text"),
        ("system", "input_text"),
        ("assistant", "output_text"),
    ],
)
def test_shorthand_messages_become_typed_items(role: str, kind: str) -> None:
    assert typed_input([{"role": role, "content": "hi"}]) == [text_message(role, kind, "hi")]


def test_a_mixed_list_is_typed_item_by_item_and_keeps_other_fields() -> None:
    image = {"type": "input_image", "image_url": "https://example.com/a.png"}
    call = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}
    given = [
        {"role": "user", "content": "first"},
        {"type": "message", "role": "assistant", "content": "said", "status": "completed"},
        {"role": "user", "content": [{"type": "input_text", "text": "look"}, image]},
        call,
        {"type": "function_call_output", "call_id": "c1", "output": "done"},
        "not an item",
    ]
    before = copy.deepcopy(given)
    assert typed_input(given) == [
        text_message("user", "input_text", "first"),
        {**text_message("assistant", "output_text", "said"), "status": "completed"},
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "look"}, image],
        },
        call,
        {"type": "function_call_output", "call_id": "c1", "output": "done"},
        "not an item",
    ]
    assert given == before  # the caller's items are never changed


def test_typed_input_is_kept_as_it_is() -> None:
    items = [text_message("user", "input_text", "a"), text_message("assistant", "output_text", "b")]
    assert typed_input(items) == items


@pytest.mark.parametrize("value", [None, 3, {"role": "user", "content": "x"}])
def test_input_that_is_neither_string_nor_list_is_a_400_naming_it(value: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        typed_input(value)
    assert caught.value.param == "input"


def test_stateless_drops_ids_and_item_references() -> None:
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA"}
    message = {**text_message("user", "input_text", "hi"), "id": "msg_1"}
    given = [message, {"type": "item_reference", "id": "msg_0"}, reasoning]
    payload: dict[str, Any] = {"input": given, "store": False}
    stateless(payload)
    assert payload["input"] == [
        text_message("user", "input_text", "hi"),
        {"type": "reasoning", "summary": [], "encrypted_content": "gAAA"},
    ]
    assert payload["include"] == ["reasoning.encrypted_content"]  # reasoning items travel
    assert message["id"] == "msg_1"  # not the caller's item


@pytest.mark.parametrize(
    ("extra", "include"),
    [
        ({}, None),
        ({"reasoning": {"effort": "low"}}, ["reasoning.encrypted_content"]),
        (
            {"reasoning": {"effort": "low"}, "include": ["message.output_text.logprobs"]},
            ["message.output_text.logprobs", "reasoning.encrypted_content"],
        ),
        (
            {"reasoning": {"effort": "low"}, "include": ["reasoning.encrypted_content"]},
            ["reasoning.encrypted_content"],
        ),
        ({"reasoning": None}, None),
    ],
)
def test_encrypted_reasoning_is_included_when_the_call_reasons(
    extra: dict[str, Any], include: list[str] | None
) -> None:
    payload: dict[str, Any] = {"input": [text_message("user", "input_text", "x")], **extra}
    stateless(payload)
    assert payload.get("include") == include


def _item(index: int, text: str) -> dict[str, Any]:
    return {
        "type": "response.output_item.done",
        "output_index": index,
        "item": text_message("assistant", "output_text", text),
    }


def test_the_final_response_gets_the_streamed_items_when_its_output_is_empty() -> None:
    filler = ResponseFiller(DEFAULTS)
    created = {"id": "resp_up", "object": "response", "created_at": 5, "model": "gpt-5.4"}
    events = [
        {"type": "response.created", "response": {**created, "status": "in_progress"}},
        _item(1, "second"),
        _item(0, "first"),
    ]
    for event in events:
        filler.observe(event)
    final = {**created, "status": "completed", "output": [], "usage": {"total_tokens": 3}}
    filled = filler.fill(final, "response.completed")
    assert filled is not None
    assert [i["content"][0]["text"] for i in filled["output"]] == ["first", "second"]
    assert final["output"] == []  # a new object
    full = {**final, "output": [events[2]["item"]]}
    assert filler.fill(full, "response.completed") is None  # the upstream's own output is kept


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("response.completed", "completed"),
        ("response.incomplete", "incomplete"),
        ("response.failed", "failed"),
        ("response.created", "in_progress"),
    ],
)
def test_every_required_field_is_filled_from_earlier_events_or_the_defaults(
    kind: str, status: str
) -> None:
    filler = ResponseFiller(DEFAULTS)
    filler.observe({"type": "response.created", "response": {"id": "resp_up", "created_at": 7}})
    filled = filler.fill({}, kind)
    assert filled == {
        "id": "resp_up",
        "object": "response",
        "created_at": 7,
        "status": status,
        "model": "gpt-5.4",
        "output": [],
        "usage": None,
    }
    assert set(REQUIRED_FIELDS) <= set(filled)


def test_without_defaults_only_what_the_stream_said_is_filled() -> None:
    filled = ResponseFiller().filled({"status": "completed", "usage": None}, "response.completed")
    assert filled == {"status": "completed", "usage": None, "object": "response", "output": []}
