"""Chat Completions requests → Codex Responses requests (upstream.md section 3)."""

from __future__ import annotations

import copy
from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.responses.response_create_params import ResponseCreateParamsStreaming

from authai_embed.errors import InvalidRequest
from authai_embed.proxy.translate._checks import RequestLimits
from authai_embed.proxy.translate.chat_to_responses import ChatRequest, chat_to_responses

DEFAULT = "You are a helpful assistant."
PNG = "data:image/png;base64,iVBORw0KGgo="
RESPONSES_REQUEST = pydantic.TypeAdapter(ResponseCreateParamsStreaming)


def translate(**body: Any) -> ChatRequest:
    body.setdefault("model", "gpt-5.4")
    body.setdefault("messages", [{"role": "user", "content": "Hi"}])
    return chat_to_responses(body, default_instructions=DEFAULT)


def refused(body: dict[str, Any], **kwargs: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        chat_to_responses(body, default_instructions=DEFAULT, **kwargs)
    return caught.value


def assert_valid_responses_request(payload: dict[str, Any]) -> None:
    """The official SDK's types accept the payload (assistant history aside: the SDK only types
    output messages with ids, the backend takes them without, as the Codex CLI sends them)."""
    checked = dict(payload)
    checked["input"] = [
        item for item in payload["input"] if item.get("role") != "assistant"
    ] or "(only assistant history)"
    RESPONSES_REQUEST.validate_python(checked)


def test_a_minimal_request_becomes_a_stateless_streaming_responses_call() -> None:
    chat = translate()
    assert chat.payload == {
        "model": "gpt-5.4",
        "instructions": DEFAULT,
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}
        ],
        "store": False,
        "stream": True,
    }
    assert (chat.model, chat.stream, chat.include_usage, chat.include_reasoning) == (
        "gpt-5.4",
        False,
        False,
        False,
    )
    assert chat.dropped == ()
    assert_valid_responses_request(chat.payload)


def test_without_system_messages_the_instructions_default_to_a_neutral_text() -> None:
    body = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "Hi"}]}
    assert chat_to_responses(body).payload["instructions"] == "You are a helpful assistant."
    custom = chat_to_responses(body, default_instructions="Be brief.")
    assert custom.payload["instructions"] == "Be brief."


def test_system_and_developer_messages_become_the_instructions() -> None:
    chat = translate(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "system", "content": "   "},
        ]
    )
    assert chat.payload["instructions"] == "Be brief.\n\nAnswer in French."
    assert [item["role"] for item in chat.payload["input"]] == ["user"]


def test_user_parts_become_input_text_and_input_image() -> None:
    chat = translate(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": "https://example.com/cat.png"},
                    {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}},
                ],
            }
        ]
    )
    assert chat.payload["input"][0]["content"] == [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "auto"},
        {"type": "input_image", "image_url": PNG, "detail": "low"},
    ]
    assert_valid_responses_request(chat.payload)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/cat.png",
        "file:///etc/passwd",
        "ftp://example.com/x.png",
        "data:text/plain;base64,aGk=",
        "data:image/png,rawbytes",
        "data:image/png;base64,",
        "https://",
        "",
    ],
)
def test_image_urls_other_than_https_or_base64_images_are_refused(url: str) -> None:
    body = {
        "model": "gpt-5.4",
        "messages": [
            {"role": "system", "content": "x"},
            {"role": "user", "content": "a"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "b"},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            },
        ],
    }
    error = refused(body)
    assert error.param == "messages[2].content[1].image_url"
    assert error.status == 400


def test_an_unknown_image_detail_is_refused() -> None:
    content = [{"type": "image_url", "image_url": {"url": PNG, "detail": "ultra"}}]
    error = refused({"model": "m", "messages": [{"role": "user", "content": content}]})
    assert error.param == "messages[0].content[0].image_url.detail"


@pytest.mark.parametrize(
    ("part", "reason"),
    [
        ({"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}, "audio"),
        ({"type": "file", "file": {"file_id": "f"}}, "file"),
        ({"type": "video"}, "'video'"),
        ({"text": "no type"}, "needs a type"),
    ],
)
def test_unsupported_user_parts_are_refused_by_name(part: dict[str, Any], reason: str) -> None:
    error = refused({"model": "m", "messages": [{"role": "user", "content": [part]}]})
    assert error.param == "messages[0].content[0]"
    assert reason in error.message


def test_a_tool_round_trip_becomes_function_call_items() -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
    }
    chat = translate(
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "Let me check.", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18°C"},
            {"role": "assistant", "content": None, "tool_calls": [{**call, "id": "call_2"}]},
            {
                "role": "tool",
                "tool_call_id": "call_2",
                "content": [{"type": "text", "text": "1"}, {"type": "text", "text": "9"}],
            },
        ]
    )
    assert chat.payload["input"][1:] == [
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Let me check."}],
        },
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "weather",
            "arguments": '{"city":"Paris"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "18°C"},
        {
            "type": "function_call",
            "call_id": "call_2",
            "name": "weather",
            "arguments": '{"city":"Paris"}',
        },
        {"type": "function_call_output", "call_id": "call_2", "output": "19"},
    ]
    assert_valid_responses_request(chat.payload)


def test_assistant_parts_and_refusals_become_output_parts() -> None:
    chat = translate(
        messages=[
            {"role": "user", "content": "x"},
            {
                "role": "assistant",
                "content": [{"type": "text", "text": "a"}, {"type": "refusal", "refusal": "no"}],
            },
            {"role": "assistant", "content": None, "refusal": "Sorry."},
            {"role": "assistant", "content": ""},
        ]
    )
    assert chat.payload["input"][1:] == [
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "a"}, {"type": "refusal", "refusal": "no"}],
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "refusal", "refusal": "Sorry."}],
        },
    ]


def test_a_tool_result_must_answer_an_earlier_tool_call() -> None:
    messages = [
        {"role": "user", "content": "x"},
        {"role": "tool", "tool_call_id": "call_9", "content": "r"},
    ]
    error = refused({"model": "m", "messages": messages})
    assert error.param == "messages[1].tool_call_id"


def test_tools_become_flat_functions_with_chat_defaults() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    chat = translate(
        tools=[
            {
                "type": "function",
                "function": {"name": "weather", "description": "Weather now", "parameters": schema},
            },
            {"type": "function", "function": {"name": "ping", "strict": True}},
        ],
        tool_choice={"type": "function", "function": {"name": "weather"}},
        parallel_tool_calls=False,
    )
    assert chat.payload["tools"] == [
        {
            "type": "function",
            "name": "weather",
            "description": "Weather now",
            "parameters": schema,
            "strict": False,
        },
        {
            "type": "function",
            "name": "ping",
            "parameters": {"type": "object", "properties": {}},
            "strict": True,
        },
    ]
    assert chat.payload["tools"][0]["parameters"] is schema  # shared, not copied
    assert chat.payload["tool_choice"] == {"type": "function", "name": "weather"}
    assert chat.payload["parallel_tool_calls"] is False
    assert_valid_responses_request(chat.payload)


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_tool_choice_strings_pass_through(choice: str) -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    assert translate(tools=tools, tool_choice=choice).payload["tool_choice"] == choice


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0].type"),
        ({"tools": [{"type": "function"}]}, "tools[0].function"),
        (
            {"tools": [{"type": "function", "function": {"name": "has space"}}]},
            "tools[0].function.name",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": "{}"}}]},
            "tools[0].function.parameters",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "strict": "yes"}}]},
            "tools[0].function.strict",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f"}}] * 2},
            "tools[1].function.name",
        ),
        ({"tools": {"name": "f"}}, "tools"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"tool_choice": "required"}, "tool_choice"),
        (
            {"tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice.function.name",
        ),
        ({"tool_choice": {"type": "allowed_tools"}}, "tool_choice.type"),
        ({"tool_choice": 3}, "tool_choice"),
        ({"parallel_tool_calls": "yes"}, "parallel_tool_calls"),
    ],
)
def test_bad_tools_and_tool_choices_are_refused_by_name(extra: dict[str, Any], param: str) -> None:
    assert (
        refused({"model": "m", "messages": [{"role": "user", "content": "x"}], **extra}).param
        == param
    )


def test_response_formats_become_text_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    json_schema = {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": True},
    }
    chat = translate(response_format=json_schema, verbosity="low")
    assert chat.payload["text"] == {
        "format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True},
        "verbosity": "low",
    }
    assert_valid_responses_request(chat.payload)
    assert translate(response_format={"type": "json_object"}).payload["text"] == {
        "format": {"type": "json_object"}
    }
    assert "text" not in translate(response_format={"type": "text"}).payload
    unstated = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
    assert translate(response_format=unstated).payload["text"]["format"]["strict"] is False


@pytest.mark.parametrize(
    ("fmt", "param"),
    [
        ({"type": "xml"}, "response_format.type"),
        ({"type": "json_schema"}, "response_format.json_schema"),
        ({"type": "json_schema", "json_schema": {"name": "a"}}, "response_format.json_schema"),
        (
            {"type": "json_schema", "json_schema": {"name": "a b", "schema": {}}},
            "response_format.json_schema.name",
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "a", "schema": []}},
            "response_format.json_schema.schema",
        ),
        ("json", "response_format"),
    ],
)
def test_bad_response_formats_are_refused_by_name(fmt: Any, param: str) -> None:
    assert (
        refused(
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": fmt}
        ).param
        == param
    )


def test_reasoning_effort_and_the_summary_extension() -> None:
    chat = translate(reasoning_effort="high", reasoning_summary="auto")
    assert chat.payload["reasoning"] == {"effort": "high", "summary": "auto"}
    assert chat.payload["include"] == ["reasoning.encrypted_content"]
    assert chat.include_reasoning is True
    assert_valid_responses_request(chat.payload)
    plain = translate(reasoning_effort="minimal")
    assert plain.payload["reasoning"] == {"effort": "minimal"}
    assert "include" not in plain.payload
    assert plain.include_reasoning is False


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"reasoning_effort": "max"}, "reasoning_effort"),
        ({"reasoning_effort": 3}, "reasoning_effort"),
        ({"reasoning_summary": "verbose"}, "reasoning_summary"),
        ({"verbosity": "loud"}, "verbosity"),
    ],
)
def test_bad_reasoning_values_are_refused(extra: dict[str, Any], param: str) -> None:
    assert (
        refused({"model": "m", "messages": [{"role": "user", "content": "x"}], **extra}).param
        == param
    )


def test_stream_include_usage_and_prompt_cache_key() -> None:
    chat = translate(stream=True, stream_options={"include_usage": True}, prompt_cache_key="conv-1")
    assert (chat.stream, chat.include_usage) == (True, True)
    assert chat.payload["prompt_cache_key"] == "conv-1"
    assert chat.payload["stream"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [{"role": "user", "content": "x"}]},
        {"model": "gpt-5.4"},
        {"model": "", "messages": [{"role": "user", "content": "x"}]},
        {"model": "gpt-5.4", "messages": None},
        {"model": "gpt-5.4", "messages": []},
        {"model": None, "messages": []},
        {},
    ],
)
def test_missing_model_or_messages_has_the_reference_message(body: dict[str, Any]) -> None:
    error = refused(body)
    assert (error.message, error.status) == ("model and messages are required", 400)
    assert error.param == ("messages" if body.get("model") else "model")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": 5, "messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": "hi"}, "messages"),
        ({"model": "m", "messages": {"role": "user"}}, "messages"),
        ({"model": "m", "messages": ["hi"]}, "messages[0]"),
        ({"model": "m", "messages": [{"content": "x"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"model": "m", "messages": [{"role": "user", "content": None}]}, "messages[0].content"),
        ({"model": "m", "messages": [{"role": "user", "content": []}]}, "messages[0].content"),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": [{"type": "text", "text": 1}]}],
            },
            "messages[0].content[0].text",
        ),
        ({"model": "m", "messages": [{"role": "system", "content": None}]}, "messages[0].content"),
        (
            {
                "model": "m",
                "messages": [
                    {"role": "system", "content": [{"type": "image_url", "image_url": PNG}]}
                ],
            },
            "messages[0].content[0]",
        ),
        ({"model": "m", "messages": [{"role": "assistant", "content": 1}]}, "messages[0].content"),
        (
            {"model": "m", "messages": [{"role": "assistant", "tool_calls": {}}]},
            "messages[0].tool_calls",
        ),
        (
            {
                "model": "m",
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {}}}],
                    }
                ],
            },
            "messages[0].tool_calls[0].function.arguments",
        ),
        (
            {
                "model": "m",
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [{"function": {"name": "f", "arguments": ""}}],
                    }
                ],
            },
            "messages[0].tool_calls[0].id",
        ),
        (
            {"model": "m", "messages": [{"role": "tool", "content": "x"}]},
            "messages[0].tool_call_id",
        ),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream"),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": []},
            "stream_options",
        ),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": "x"}],
                "stream_options": {"include_usage": 1},
            },
            "stream_options.include_usage",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "prompt_cache_key": 1},
            "prompt_cache_key",
        ),
    ],
)
def test_wrong_types_are_refused_naming_the_parameter(body: dict[str, Any], param: str) -> None:
    error = refused(body)
    assert error.param == param
    assert error.status == 400


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 2}, "n"),
        ({"n": 0}, "n"),
        ({"n": "1"}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"audio": {"voice": "alloy", "format": "wav"}}, "audio"),
        ({"modalities": ["text", "audio"]}, "modalities[1]"),
        ({"prediction": {"type": "content", "content": "x"}}, "prediction"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"function_call": "auto"}, "function_call"),
        ({"web_search_options": {}}, "web_search_options"),
        ({"moderation": {"model": "omni-moderation-latest"}}, "moderation"),
    ],
)
def test_what_the_backend_cannot_do_is_refused(extra: dict[str, Any], param: str) -> None:
    error = refused({"model": "m", "messages": [{"role": "user", "content": "x"}], **extra})
    assert error.param == param


def test_legacy_function_messages_point_to_tools() -> None:
    error = refused({"model": "m", "messages": [{"role": "function", "name": "f", "content": "x"}]})
    assert error.param == "messages[0].role"
    assert "use tools" in error.message
    legacy_call = {"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}}
    assert refused({"model": "m", "messages": [legacy_call]}).param == "messages[0].function_call"


def test_no_op_values_of_refused_parameters_are_accepted() -> None:
    chat = translate(
        n=1, logprobs=False, top_logprobs=0, modalities=["text"], audio=None, functions=None
    )
    assert chat.dropped == ()


def test_parameters_the_backend_rejects_are_dropped_and_listed() -> None:
    dropped = {
        "temperature": 0.2,
        "top_p": 1,
        "max_tokens": 10,
        "max_completion_tokens": 10,
        "metadata": {"a": "b"},
        "user": "u",
        "seed": 1,
        "stop": ["\n"],
        "presence_penalty": 0,
        "frequency_penalty": 0,
        "logit_bias": {"1": 1},
        "service_tier": "auto",
        "store": True,
        "safety_identifier": "s",
        "some_future_field": 1,
    }
    chat = translate(**dropped, prompt_cache_retention=None)
    assert chat.dropped == tuple(dropped)
    assert not set(dropped) & set(chat.payload) - {"store"}
    assert chat.payload["store"] is False


def test_the_body_is_not_modified() -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG}}]}
        ],
        "tools": [
            {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
        ],
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {}}},
    }
    before = copy.deepcopy(body)
    chat_to_responses(body, default_instructions=DEFAULT)
    assert body == before


def test_more_than_ten_thousand_messages_is_refused_naming_messages() -> None:
    message = {"role": "user", "content": "x"}
    error = refused({"model": "m", "messages": [message] * 10_001})
    assert (error.status, error.param) == (400, "messages")
    assert "10000" in error.message
    assert chat_to_responses({"model": "m", "messages": [message] * 10_000})
    error = refused({"model": "m", "messages": [message] * 6}, limits=RequestLimits(max_messages=5))
    assert (error.status, error.param) == (400, "messages")


def test_too_much_text_or_too_many_parts_is_a_413() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x" * 600}]}
    assert refused(body, limits=RequestLimits(max_chars=500)).status == 413
    parts = [{"type": "text", "text": "x"}] * 11
    body = {"model": "m", "messages": [{"role": "user", "content": parts}]}
    assert refused(body, limits=RequestLimits(max_parts=10)).status == 413


def test_too_many_tools_is_refused() -> None:
    tools = [{"type": "function", "function": {"name": f"f{i}"}} for i in range(3)]
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": tools}
    assert refused(body, limits=RequestLimits(max_tools=2)).param == "tools"


# -- property: any JSON-ish body is translated or refused with InvalidRequest, nothing else ----

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
)
json_like = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = [
    "type",
    "text",
    "image_url",
    "url",
    "detail",
    "refusal",
    "id",
    "function",
    "name",
    "arguments",
    "tool_calls",
    "tool_call_id",
    "content",
    "role",
    "json_schema",
    "schema",
    "strict",
    "parameters",
    "include_usage",
]
WORDS = [
    "user",
    "assistant",
    "system",
    "developer",
    "tool",
    "function",
    "text",
    "image_url",
    "refusal",
    "json_schema",
    "json_object",
    "auto",
    "required",
    "none",
    "high",
    PNG,
    "https://x/y.png",
    "call_1",
    "f",
]
guided = st.recursive(
    scalars | st.sampled_from(WORDS),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=25,
)
TOP = [
    "model",
    "messages",
    "tools",
    "tool_choice",
    "response_format",
    "stream",
    "stream_options",
    "n",
    "logprobs",
    "modalities",
    "reasoning_effort",
    "reasoning_summary",
    "verbosity",
    "parallel_tool_calls",
    "prompt_cache_key",
    "temperature",
]
short_text = st.text(max_size=8)
user_part = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, short_text),
    st.sampled_from([PNG, "https://x/y.png"]).map(lambda u: {"type": "image_url", "image_url": u}),
    st.sampled_from(["auto", "low", "high"]).map(
        lambda d: {"type": "image_url", "image_url": {"url": PNG, "detail": d}}
    ),
)
plain_message = st.one_of(
    st.builds(
        lambda r, t: {"role": r, "content": t},
        st.sampled_from(["system", "developer", "user", "assistant"]),
        short_text,
    ),
    st.lists(user_part, min_size=1, max_size=3).map(
        lambda parts: {"role": "user", "content": parts}
    ),
    short_text.map(
        lambda t: {"role": "assistant", "content": [{"type": "text", "text": t}], "refusal": None}
    ),
)
tool_turn = st.builds(
    lambda args, out: [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": args}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": out},
    ],
    short_text,
    short_text,
)
valid_messages = st.builds(
    lambda head, turn, tail: [*head, *turn, *tail],
    st.lists(plain_message, max_size=3),
    st.lists(tool_turn, max_size=1).map(lambda turns: turns[0] if turns else []),
    st.lists(plain_message, min_size=1, max_size=3),
)
TOOL_F = {"type": "function", "function": {"name": "f"}}
valid_options = {
    "tools": st.just(
        [
            {
                "type": "function",
                "function": {"name": "f", "parameters": {"type": "object"}, "strict": False},
            },
            {"type": "function", "function": {"name": "g"}},
        ]
    ),
    "tool_choice": st.sampled_from(
        ["auto", "none", "required", {"type": "function", "function": {"name": "f"}}]
    ),
    "response_format": st.sampled_from(
        [
            {"type": "text"},
            {"type": "json_object"},
            {"type": "json_schema", "json_schema": {"name": "a", "schema": {}, "strict": True}},
        ]
    ),
    "stream": st.booleans(),
    "stream_options": st.builds(lambda b: {"include_usage": b}, st.booleans()),
    "n": st.just(1),
    "logprobs": st.just(False),
    "modalities": st.just(["text"]),
    "reasoning_effort": st.sampled_from(["low", "high", "xhigh"]),
    "reasoning_summary": st.sampled_from(["auto", "concise", "detailed"]),
    "verbosity": st.sampled_from(["low", "medium", "high"]),
    "parallel_tool_calls": st.booleans(),
    "prompt_cache_key": short_text,
    "temperature": st.floats(0, 2),
}
valid_bodies = st.fixed_dictionaries(
    {"model": st.just("gpt-5.4"), "messages": valid_messages}, optional=valid_options
).map(
    lambda body: (
        body if "tools" in body or "tool_choice" not in body else {**body, "tools": [TOOL_F]}
    )
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


@st.composite
def one_fault(draw: st.DrawFn) -> Any:
    """A valid body with one node (anywhere, at any depth) replaced by arbitrary JSON."""
    body = copy.deepcopy(draw(valid_bodies))
    path = draw(st.sampled_from(_paths(body)[1:]))
    node: Any = body
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = draw(guided)
    return body


bodies = st.one_of(
    json_like, st.dictionaries(st.sampled_from(TOP), guided, max_size=8), valid_bodies, one_fault()
)


def test_generated_valid_bodies_translate() -> None:
    @settings(max_examples=100, deadline=None)
    @given(body=valid_bodies)
    def check(body: dict[str, Any]) -> None:
        chat = chat_to_responses(body, default_instructions=DEFAULT)
        assert_valid_responses_request(chat.payload)

    check()


@settings(max_examples=600, deadline=None)
@given(body=bodies)
def test_any_json_body_is_translated_or_refused_with_invalid_request(body: Any) -> None:
    refusal: InvalidRequest | None = None
    try:
        chat = chat_to_responses(body, default_instructions=DEFAULT)
    except InvalidRequest as error:
        refusal = error
    if refusal is not None:
        assert refusal.message
        assert refusal.status in (400, 413)
        return
    assert chat.payload["stream"] is True
    assert chat.payload["store"] is False
    assert isinstance(chat.payload["instructions"], str)
    assert chat.payload["instructions"]
