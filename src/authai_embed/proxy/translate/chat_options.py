"""Chat Completions options → their Responses form: tools, tool choice, output format, reasoning.

Where the two APIs' defaults differ, Chat Completions' is sent explicitly. Schemas are passed by
reference, never copied: they can be large and we do not change them. The mapping of each
option: docs/proxy.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from authai_embed.errors import InvalidRequest
from authai_embed.proxy.translate._checks import (
    RequestLimits,
    invalid_type,
    one_of,
    want_bool,
    want_list,
    want_mapping,
    want_str,
)

__all__ = [
    "EFFORTS",
    "RESPONSE_FORMATS",
    "SUMMARIES",
    "TOOL_CHOICES",
    "VERBOSITIES",
    "convert_reasoning",
    "convert_response_format",
    "convert_tool_choice",
    "convert_tools",
]

EFFORTS: Final = ("none", "minimal", "low", "medium", "high", "xhigh")
"""Every effort the Codex backend knows (`none` included: Chat Completions has it for the
models that can skip reasoning); which ones a model takes is the backend's to say."""
SUMMARIES: Final = ("auto", "concise", "detailed")
VERBOSITIES: Final = ("low", "medium", "high")
TOOL_CHOICES: Final = ("none", "auto", "required")
RESPONSE_FORMATS: Final = ("text", "json_object", "json_schema")
_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NAME_RULE: Final = "1 to 64 letters, digits, underscores or dashes"
_EMPTY_SCHEMA: Final = {"type": "object", "properties": {}}


def _name(value: Any, param: str) -> str:
    name = want_str(value, param)
    if not _NAME.fullmatch(name):
        raise InvalidRequest(f"{param} must be {_NAME_RULE}, not {name[:80]!r}", param=param)
    return name


def convert_tools(tools: Any, limits: RequestLimits) -> list[dict[str, Any]]:
    """The flat Responses tools of Chat Completions `tools` (`[]` when none)."""
    if tools is None:
        return []
    tools = want_list(tools, "tools")
    if len(tools) > limits.max_tools:
        raise InvalidRequest(f"tools may hold at most {limits.max_tools} tools", param="tools")
    converted: list[dict[str, Any]] = []
    names: set[str] = set()
    for index, raw in enumerate(tools):
        param = f"tools[{index}]"
        tool = want_mapping(raw, param)
        kind = tool.get("type")
        if kind != "function":
            shown = repr(kind) if isinstance(kind, str) else "a tool without a type"
            raise InvalidRequest(
                f"{param}.type: only function tools are supported, not {shown}",
                param=f"{param}.type",
            )
        function = want_mapping(tool.get("function"), f"{param}.function")
        name = _name(function.get("name"), f"{param}.function.name")
        if name in names:
            raise InvalidRequest(
                f"{param}.function.name: two tools are named {name!r}",
                param=f"{param}.function.name",
            )
        names.add(name)
        out: dict[str, Any] = {"type": "function", "name": name}
        description = function.get("description")
        if description is not None:
            out["description"] = want_str(description, f"{param}.function.description")
        # Chat Completions' defaults, stated: the Responses API would default to strict schemas
        # and refuse many ordinary ones.
        parameters = function.get("parameters")
        if parameters is None:
            out["parameters"] = dict(_EMPTY_SCHEMA)
        else:
            parameters = want_mapping(parameters, f"{param}.function.parameters")
            out["parameters"] = parameters if isinstance(parameters, dict) else dict(parameters)
        strict = function.get("strict")
        out["strict"] = False if strict is None else want_bool(strict, f"{param}.function.strict")
        converted.append(out)
    return converted


def convert_tool_choice(choice: Any, tool_names: set[str]) -> str | dict[str, Any] | None:
    """The Responses `tool_choice` (`None`: not given)."""
    if choice is None:
        return None
    if isinstance(choice, str):
        mode = one_of(choice, "tool_choice", TOOL_CHOICES)
        if mode == "required" and not tool_names:
            raise InvalidRequest(
                "tool_choice 'required' needs at least one tool in tools", param="tool_choice"
            )
        return mode
    if not isinstance(choice, Mapping):
        raise invalid_type("tool_choice", choice, "a string or an object")
    if choice.get("type") != "function":
        raise InvalidRequest(
            "tool_choice.type: only 'function' tool choices are supported", param="tool_choice.type"
        )
    function = want_mapping(choice.get("function"), "tool_choice.function")
    name = want_str(function.get("name"), "tool_choice.function.name", empty=False)
    if name not in tool_names:
        raise InvalidRequest(
            f"tool_choice.function.name {name[:80]!r} is not one of the tools",
            param="tool_choice.function.name",
        )
    return {"type": "function", "name": name}


def convert_response_format(fmt: Any) -> dict[str, Any] | None:
    """The Responses `text.format` of `response_format` (`None`: not given)."""
    if fmt is None:
        return None
    fmt = want_mapping(fmt, "response_format")
    kind = one_of(fmt.get("type"), "response_format.type", RESPONSE_FORMATS)
    if kind == "text":
        return None  # the default: nothing to send
    if kind == "json_object":
        return {"type": "json_object"}
    spec = want_mapping(fmt.get("json_schema"), "response_format.json_schema")
    out: dict[str, Any] = {
        "type": "json_schema",
        "name": _name(spec.get("name"), "response_format.json_schema.name"),
    }
    if "schema" not in spec:
        raise InvalidRequest(
            "response_format.json_schema.schema is required", param="response_format.json_schema"
        )
    schema = want_mapping(spec["schema"], "response_format.json_schema.schema")
    out["schema"] = schema if isinstance(schema, dict) else dict(schema)
    if spec.get("description") is not None:
        out["description"] = want_str(
            spec["description"], "response_format.json_schema.description"
        )
    strict = spec.get("strict")
    # Chat Completions' default, stated: the two APIs need not agree on it.
    out["strict"] = (
        False if strict is None else want_bool(strict, "response_format.json_schema.strict")
    )
    return out


def convert_reasoning(effort: Any, summary: Any) -> dict[str, Any] | None:
    """The Responses `reasoning` object (`None`: neither given)."""
    out: dict[str, Any] = {}
    if effort is not None:
        out["effort"] = one_of(effort, "reasoning_effort", EFFORTS)
    if summary is not None:
        out["summary"] = one_of(summary, "reasoning_summary", SUMMARIES)
    return out or None
