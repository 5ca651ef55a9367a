"""Validation of a Responses `tools` list, for every tool kind the Codex CLI declares.

Besides flat `function` tools the CLI sends `namespace` groups of functions (its sub-agent and
MCP tools), freeform `custom` tools (`apply_patch` with a grammar), `local_shell`, `web_search`,
`image_generation` and `tool_search`; the real backend takes them all, so the emulator must.
"""

from __future__ import annotations

from typing import Any

from authai_embed.testing.codex.errors import (
    invalid_type,
    invalid_value,
    missing,
    unknown_parameter,
)

__all__ = ["TOOL_KINDS", "check_tools"]

_FIELDS: dict[str, frozenset[str]] = {
    "function": frozenset({"type", "name", "description", "parameters", "strict", "defer_loading"}),
    "namespace": frozenset({"type", "name", "description", "tools"}),
    "custom": frozenset({"type", "name", "description", "format", "defer_loading"}),
    "local_shell": frozenset({"type"}),
    "web_search": frozenset(
        {
            "type",
            "external_web_access",
            "filters",
            "user_location",
            "search_context_size",
            "search_content_types",
        }
    ),
    "image_generation": frozenset(
        {"type", "output_format", "background", "quality", "size", "moderation"}
    ),
    "tool_search": frozenset({"type", "execution", "description", "parameters"}),
}
TOOL_KINDS = tuple(_FIELDS)
"""The `type`s of tool the backend takes."""
_NAMED = ("function", "namespace", "custom")
_CUSTOM_FORMATS = ("text", "grammar")


def check_tools(tools: Any, where: str = "tools") -> list[dict[str, Any]]:
    """`tools` if every entry is a tool the backend takes; raises `Rejected` naming the first
    fault (`where`: the parameter path the error names)."""
    if not isinstance(tools, list):
        raise invalid_type(where, tools, "an array")
    for index, tool in enumerate(tools):
        _check_tool(tool, f"{where}[{index}]", TOOL_KINDS)
    return tools


def _check_tool(tool: Any, param: str, kinds: tuple[str, ...]) -> None:
    if not isinstance(tool, dict):
        raise invalid_type(param, tool, "an object")
    kind = tool.get("type")
    if kind not in kinds:
        raise invalid_value(f"{param}.type", kind, kinds)
    for name in tool:
        if name not in _FIELDS[kind]:
            raise unknown_parameter(f"{param}.{name}")
    if kind in _NAMED and (not isinstance(tool.get("name"), str) or not tool["name"]):
        raise missing(f"{param}.name")
    if kind == "function":
        if "parameters" in tool and not isinstance(tool["parameters"], dict | None):
            raise invalid_type(f"{param}.parameters", tool["parameters"], "an object")
        if "strict" in tool and not isinstance(tool["strict"], bool | None):
            raise invalid_type(f"{param}.strict", tool["strict"], "a boolean")
    elif kind == "namespace":
        members = tool.get("tools")
        if not isinstance(members, list):
            raise invalid_type(f"{param}.tools", members, "an array")
        for index, member in enumerate(members):
            _check_tool(member, f"{param}.tools[{index}]", ("function",))
    elif kind == "custom" and "format" in tool:
        fmt = tool["format"]
        if not isinstance(fmt, dict):
            raise invalid_type(f"{param}.format", fmt, "an object")
        if fmt.get("type") not in _CUSTOM_FORMATS:
            raise invalid_value(f"{param}.format.type", fmt.get("type"), _CUSTOM_FORMATS)
