"""Anthropic Messages requests → Chat Completions requests: every block, option and refusal."""

from __future__ import annotations

from typing import Any

import pytest

from authai_embed.errors import InvalidRequest
from authai_embed.proxy.translate.anthropic_blocks import ERROR_PREFIX
from authai_embed.proxy.translate.anthropic_request import messages_to_chat
from authai_embed.proxy.translate.chat_to_responses import chat_to_responses

PIXEL = "iVBORw0KGgo="


def body(**fields: Any) -> dict[str, Any]:
    return {
        "model": "gpt-5.4",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
        **fields,
    }


def test_a_plain_request_becomes_a_chat_request() -> None:
    asked = messages_to_chat(body())
    assert asked.chat == {
        "model": "gpt-5.4",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 100,
    }
    assert (asked.model, asked.stream, asked.stop_sequences) == ("gpt-5.4", False, ())


def test_a_streamed_request_asks_for_usage() -> None:
    asked = messages_to_chat(body(stream=True))
    assert asked.stream is True
    assert asked.chat["stream"] is True
    assert asked.chat["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    ("system", "text"),
    [
        ("Be brief.", "Be brief."),
        ([{"type": "text", "text": "A"}, {"type": "text", "text": "B"}], "A\n\nB"),
    ],
)
def test_the_system_prompt_is_the_first_message(system: Any, text: str) -> None:
    messages = messages_to_chat(body(system=system)).chat["messages"]
    assert messages[0] == {"role": "system", "content": text}
    assert messages[1] == {"role": "user", "content": "hi"}


def test_images_become_image_url_parts() -> None:
    content = [
        {"type": "text", "text": "what?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
    ]
    messages = messages_to_chat(body(messages=[{"role": "user", "content": content}]))
    assert messages.chat["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            ],
        }
    ]


def test_tool_use_and_tool_results_become_tool_calls_and_tool_messages() -> None:
    history = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": "Looking."},
                {"type": "tool_use", "id": "toolu_1", "name": "w", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "w", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "is_error": True,
                    "content": [
                        {"type": "text", "text": "no such"},
                        {"type": "text", "text": "city"},
                        {
                            "type": "image",
                            "source": {"type": "url", "url": "https://example.com/m.png"},
                        },
                    ],
                },
                {"type": "text", "text": "and then?"},
            ],
        },
    ]
    messages = messages_to_chat(body(messages=history)).chat["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": "Looking.",
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "w", "arguments": '{"city":"Paris"}'},
            },
            {"id": "toolu_2", "type": "function", "function": {"name": "w", "arguments": "{}"}},
        ],
    }
    assert messages[2] == {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"}
    assert messages[3] == {
        "role": "tool",
        "tool_call_id": "toolu_2",
        "content": ERROR_PREFIX + "no such\ncity",
    }
    assert messages[4] == {
        "role": "user",
        "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/m.png"}},
            {"type": "text", "text": "and then?"},
        ],
    }
    # What the chat path makes of it is a valid Responses request.
    items = chat_to_responses(messages_to_chat(body(messages=history)).chat).payload["input"]
    assert [i.get("type") for i in items].count("function_call_output") == 2


def test_an_assistant_turn_of_tool_calls_only_has_no_text() -> None:
    turn = [{"type": "tool_use", "id": "t", "name": "w", "input": {}}]
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": turn},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]},
    ]
    chat = messages_to_chat(body(messages=messages)).chat["messages"]
    assert chat[1]["content"] is None
    assert chat[2:] == [{"role": "tool", "tool_call_id": "t", "content": ""}]


def test_tools_become_functions() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    tools = [{"name": "search", "description": "Find", "input_schema": schema, "strict": True}]
    chat = messages_to_chat(body(tools=tools)).chat
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "search",
                "description": "Find",
                "parameters": schema,
                "strict": True,
            },
        }
    ]


@pytest.mark.parametrize(
    ("choice", "expected", "parallel"),
    [
        ({"type": "auto"}, "auto", None),
        ({"type": "any"}, "required", None),
        ({"type": "none"}, "none", None),
        (
            {"type": "tool", "name": "search", "disable_parallel_tool_use": True},
            {"type": "function", "function": {"name": "search"}},
            False,
        ),
    ],
)
def test_tool_choice_maps(choice: dict[str, Any], expected: Any, parallel: bool | None) -> None:
    tools = [{"name": "search", "input_schema": {"type": "object"}}]
    chat = messages_to_chat(body(tools=tools, tool_choice=choice)).chat
    assert chat["tool_choice"] == expected
    assert chat.get("parallel_tool_calls") == parallel


@pytest.mark.parametrize(
    ("fields", "effort"),
    [
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}}, "low"),
        ({"thinking": {"type": "enabled", "budget_tokens": 8000}}, "medium"),
        ({"thinking": {"type": "enabled", "budget_tokens": 20000}}, "high"),
        ({"thinking": {"type": "disabled"}}, None),
        ({"thinking": {"type": "adaptive"}}, None),
        ({"output_config": {"effort": "max"}}, "xhigh"),
        ({"output_config": {"effort": "low"}, "thinking": {"type": "disabled"}}, "low"),
    ],
)
def test_thinking_and_effort_become_a_reasoning_effort(
    fields: dict[str, Any], effort: str | None
) -> None:
    chat = messages_to_chat(body(max_tokens=32000, **fields)).chat
    assert chat.get("reasoning_effort") == effort


def test_an_output_format_becomes_a_json_schema_response_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    chat = messages_to_chat(
        body(output_config={"format": {"type": "json_schema", "schema": schema}})
    )
    assert chat.chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema, "strict": True},
    }


def test_sampling_options_are_carried_and_the_rest_dropped() -> None:
    chat = messages_to_chat(
        body(temperature=0.5, top_p=0.9, top_k=5, metadata={"user_id": "u"}, service_tier="auto")
    ).chat
    assert (chat["temperature"], chat["top_p"]) == (0.5, 0.9)
    assert not {"top_k", "metadata", "service_tier"} & chat.keys()


def test_stop_sequences_are_kept_for_the_mount_not_sent() -> None:
    asked = messages_to_chat(body(stop_sequences=["END", "\n\nHuman:"]))
    assert asked.stop_sequences == ("END", "\n\nHuman:")
    assert "stop" not in asked.chat


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"model": None}, "model"),
        ({"max_tokens": None}, "max_tokens"),
        ({"messages": None}, "messages"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        (
            {"messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]},
            "messages[0].content[0].type",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/bmp",
                                    "data": "x",
                                },
                            }
                        ],
                    }
                ]
            },
            "messages[0].content[0].source.media_type",
        ),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "t", "name": "w", "input": "x"}],
                    }
                ]
            },
            "messages[0].content[0].input",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "tool_result"}]}]},
            "messages[0].content[0].tool_use_id",
        ),
        ({"system": [{"type": "image"}]}, "system[0].type"),
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools[0].type"),
        ({"tools": [{"name": "t"}]}, "tools[0].input_schema"),
        ({"tool_choice": {"type": "some"}}, "tool_choice.type"),
        ({"tool_choice": {"type": "tool"}}, "tool_choice.name"),
        ({"thinking": {"type": "enabled", "budget_tokens": 100}}, "thinking.budget_tokens"),
        ({"thinking": {"type": "enabled", "budget_tokens": 2000}}, "thinking.budget_tokens"),
        ({"output_config": {"effort": "huge"}}, "output_config.effort"),
        ({"output_config": {"format": {"type": "xml"}}}, "output_config.format.type"),
        ({"stop_sequences": [""]}, "stop_sequences[0]"),
        ({"stop_sequences": ["x"] * 17}, "stop_sequences"),
        ({"temperature": 1.5}, "temperature"),
        ({"stream": "yes"}, "stream"),
        ({"mcp_servers": []}, "mcp_servers"),
        ({"container": "c"}, "container"),
    ],
)
def test_a_bad_request_names_the_parameter(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        messages_to_chat({**body(max_tokens=1500), **fields})
    assert raised.value.param == param
    assert raised.value.status == 400


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        messages_to_chat([])  # type: ignore[arg-type]
