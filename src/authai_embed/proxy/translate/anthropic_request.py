"""An Anthropic Messages request → the Chat Completions request that serves it (pure, no I/O).

`/v1/messages` reaches every provider through the chat path, so the Messages body is turned into
a Chat Completions body here and then checked and translated as any chat call is. What maps to
what, and what is refused: docs/proxy.md#the-anthropic-messages-dialect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from authai_embed.errors import InvalidRequest
from authai_embed.proxy.translate._checks import (
    Budget,
    RequestLimits,
    one_of,
    want_bool,
    want_int,
    want_list,
    want_mapping,
    want_number,
    want_str,
)
from authai_embed.proxy.translate.anthropic_blocks import convert_messages, system_text

__all__ = ["MAX_STOP_SEQUENCES", "MessagesRequest", "messages_to_chat"]

MAX_STOP_SEQUENCES: Final = 16
MAX_STOP_CHARS: Final = 256
_DEFAULT_LIMITS: Final = RequestLimits()
_REFUSED: Final = {
    "mcp_servers": "MCP servers are not supported",
    "container": "containers (code execution) are not supported",
}
_OUTPUT_EFFORTS: Final = ("low", "medium", "high", "xhigh", "max")
_TOOL_CHOICES: Final = ("auto", "any", "tool", "none")


@dataclass(frozen=True, slots=True)
class MessagesRequest:
    """A translated Messages request and what its answer must look like."""

    chat: dict[str, Any]
    """The Chat Completions body (checked again, and translated further, by the chat path)."""
    model: str
    stream: bool
    stop_sequences: tuple[str, ...]
    """Applied by the mount to the text as it comes (the upstream is not asked: see docs)."""


def messages_to_chat(
    body: Mapping[str, Any], *, limits: RequestLimits = _DEFAULT_LIMITS
) -> MessagesRequest:
    """Translate a Messages body; raises `InvalidRequest` naming the parameter at fault."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("request body must be a JSON object")
    for name in ("model", "max_tokens", "messages"):
        if body.get(name) is None:
            raise InvalidRequest(f"{name}: Field required", param=name)
    model = want_str(body["model"], "model", empty=False)
    max_tokens = want_int(body["max_tokens"], "max_tokens", 1)
    for name, reason in _REFUSED.items():
        if body.get(name) is not None:
            raise InvalidRequest(f"{name}: {reason}", param=name)
    budget = Budget(limits)
    messages = convert_messages(body["messages"], budget, limits)
    system = body.get("system")
    if system is not None:
        text = system_text(system, budget)
        if text:
            messages.insert(0, {"role": "system", "content": text})

    chat: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": max_tokens}
    for name, low, high in (("temperature", 0, 1), ("top_p", 0, 1)):
        if body.get(name) is not None:
            chat[name] = want_number(body[name], name, low, high)
    if body.get("top_k") is not None:
        want_int(body["top_k"], "top_k", 0)  # checked, then dropped: Chat Completions has none
    if body.get("metadata") is not None:
        want_mapping(body["metadata"], "metadata")
    tools = _tools(body.get("tools"), limits)
    if tools:
        chat["tools"] = tools
    _tool_choice(body.get("tool_choice"), chat)
    effort = _effort(body.get("thinking"), body.get("output_config"), max_tokens)
    if effort is not None:
        chat["reasoning_effort"] = effort
    fmt = _output_format(body.get("output_config"))
    if fmt is not None:
        chat["response_format"] = fmt
    stream = body.get("stream")
    stream = False if stream is None else want_bool(stream, "stream")
    if stream:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return MessagesRequest(chat, model, stream, _stop_sequences(body.get("stop_sequences")))


def _stop_sequences(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    values = want_list(value, "stop_sequences")
    if len(values) > MAX_STOP_SEQUENCES:
        raise InvalidRequest(
            f"stop_sequences may hold at most {MAX_STOP_SEQUENCES} sequences",
            param="stop_sequences",
        )
    out: list[str] = []
    for index, item in enumerate(values):
        param = f"stop_sequences[{index}]"
        text = want_str(item, param, empty=False)
        if len(text) > MAX_STOP_CHARS:
            raise InvalidRequest(f"{param} is longer than {MAX_STOP_CHARS} characters", param=param)
        out.append(text)
    return tuple(out)


def _tools(value: Any, limits: RequestLimits) -> list[dict[str, Any]]:
    """Anthropic tool definitions (`name`, `description`, `input_schema`) → chat functions."""
    if value is None:
        return []
    tools = want_list(value, "tools")
    if len(tools) > limits.max_tools:
        raise InvalidRequest(f"tools may hold at most {limits.max_tools} tools", param="tools")
    out: list[dict[str, Any]] = []
    for index, tool in enumerate(tools):
        param = f"tools[{index}]"
        tool = want_mapping(tool, param)
        kind = tool.get("type")
        if kind not in (None, "custom"):
            shown = repr(kind) if isinstance(kind, str) else "that type"
            raise InvalidRequest(
                f"{param}.type: server tools such as {shown[:80]} are not supported; "
                "define your own tool with name, description and input_schema",
                param=f"{param}.type",
            )
        function: dict[str, Any] = {"name": want_str(tool.get("name"), f"{param}.name")}
        if tool.get("description") is not None:
            function["description"] = want_str(tool["description"], f"{param}.description")
        schema = tool.get("input_schema")
        if schema is None:
            raise InvalidRequest(
                f"{param}.input_schema: Field required", param=f"{param}.input_schema"
            )
        function["parameters"] = want_mapping(schema, f"{param}.input_schema")
        if tool.get("strict") is not None:
            function["strict"] = want_bool(tool["strict"], f"{param}.strict")
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(value: Any, chat: dict[str, Any]) -> None:
    """`auto`/`any`/`tool`/`none` → `auto`/`required`/the named function/`none`; a
    `disable_parallel_tool_use` → `parallel_tool_calls: false`."""
    if value is None:
        return
    choice = want_mapping(value, "tool_choice")
    kind = one_of(choice.get("type"), "tool_choice.type", _TOOL_CHOICES)
    if kind == "tool":
        name = want_str(choice.get("name"), "tool_choice.name", empty=False)
        chat["tool_choice"] = {"type": "function", "function": {"name": name}}
    else:
        chat["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[kind]
    disable = choice.get("disable_parallel_tool_use")
    if disable is not None and want_bool(disable, "tool_choice.disable_parallel_tool_use"):
        chat["parallel_tool_calls"] = False


def _effort(thinking: Any, output_config: Any, max_tokens: int) -> str | None:
    """`output_config.effort`, else the `thinking` budget, as a reasoning effort."""
    if output_config is not None:
        effort = want_mapping(output_config, "output_config").get("effort")
        if effort is not None:
            level = one_of(effort, "output_config.effort", _OUTPUT_EFFORTS)
            return "xhigh" if level == "max" else level
    if thinking is None:
        return None
    config = want_mapping(thinking, "thinking")
    kind = one_of(config.get("type"), "thinking.type", ("enabled", "disabled", "adaptive"))
    if kind != "enabled":
        return None  # disabled: the model's default; adaptive: the model decides
    budget = want_int(config.get("budget_tokens"), "thinking.budget_tokens", 1024)
    if budget >= max_tokens:
        raise InvalidRequest(
            "thinking.budget_tokens must be less than max_tokens", param="thinking.budget_tokens"
        )
    if budget < 4096:
        return "low"
    return "medium" if budget < 16384 else "high"


def _output_format(output_config: Any) -> dict[str, Any] | None:
    if output_config is None:
        return None
    fmt = want_mapping(output_config, "output_config").get("format")
    if fmt is None:
        return None
    fmt = want_mapping(fmt, "output_config.format")
    one_of(fmt.get("type"), "output_config.format.type", ("json_schema",))
    schema = want_mapping(fmt.get("schema"), "output_config.format.schema")
    return {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema, "strict": True},
    }
