"""Validation of a Responses `input` list, as strict as the real Codex backend on the item shapes.

Item types: `message`, `function_call`, `function_call_output`, `reasoning`; content part types
depend on the role; no `system` role. Nothing is stored (`store: false`): an item `id` or an
`item_reference` is a 404. A reasoning item's `encrypted_content` must be one this backend
issued; every `function_call_output` must answer a call of the same input.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from authai_embed.testing.codex.errors import (
    detail,
    invalid,
    invalid_type,
    invalid_value,
    missing,
    not_persisted,
    unknown_parameter,
)

__all__ = ["check_input"]

ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning")
ROLES = ("user", "assistant", "system", "developer")
INPUT_PARTS = ("input_text", "input_image")
OUTPUT_PARTS = ("output_text", "refusal")
IMAGE_DETAILS = ("low", "high", "auto")
_FIELDS = {
    "message": {"type", "id", "role", "content", "status", "phase"},
    "function_call": {"type", "id", "call_id", "name", "arguments", "status"},
    "function_call_output": {"type", "id", "call_id", "output", "status"},
    "reasoning": {"type", "id", "summary", "encrypted_content", "content", "status"},
}


def check_input(
    items: Any, issued_reasoning: Container[str], *, strict: bool = True
) -> list[dict[str, Any]]:
    """`items` if it is a valid input list; raises `Rejected` (400, or 404 for an item it would
    have to look up) naming the first fault. `strict`: shorthand messages are refused."""
    if not isinstance(items, list):
        raise detail("Input must be a list")
    calls: set[str] = set()
    for index, item in enumerate(items):
        param = f"input[{index}]"
        if not isinstance(item, dict):
            raise invalid_type(param, item, "an object")
        if item.get("type") == "item_reference" or "id" in item:
            raise not_persisted(item.get("id"))
        kind = item.get("type", None if strict or "role" not in item else "message")
        if kind is None:
            raise missing(f"{param}.type")
        if kind not in ITEM_TYPES:
            raise invalid_value(f"{param}.type", kind, ITEM_TYPES)
        for name in item:
            if name not in _FIELDS[kind]:
                raise unknown_parameter(f"{param}.{name}")
        if kind == "message":
            _check_message(item, param, strict)
        elif kind == "function_call":
            for name in ("call_id", "name", "arguments"):
                _require_string(item, param, name)
            calls.add(item["call_id"])
        elif kind == "function_call_output":
            _check_call_output(item, param, calls)
        else:
            _check_reasoning(item, param, issued_reasoning)
    return items


def _require_string(item: dict[str, Any], param: str, name: str) -> str:
    if name not in item:
        raise missing(f"{param}.{name}")
    value = item[name]
    if not isinstance(value, str):
        raise invalid_type(f"{param}.{name}", value, "a string")
    return value


def _check_message(item: dict[str, Any], param: str, strict: bool) -> None:
    if "role" not in item:
        raise missing(f"{param}.role")
    role = item["role"]
    if role not in ROLES:
        raise invalid_value(f"{param}.role", role, ROLES)
    if role == "system":
        raise detail("System messages are not allowed")
    content = item.get("content")
    if "content" not in item:
        raise missing(f"{param}.content")
    if isinstance(content, str) and not strict:
        return
    if not isinstance(content, list):
        raise invalid_type(f"{param}.content", content, "an array of content parts")
    allowed = OUTPUT_PARTS if role == "assistant" else INPUT_PARTS
    for index, part in enumerate(content):
        _check_part(part, f"{param}.content[{index}]", allowed)


def _check_part(part: Any, param: str, allowed: tuple[str, ...]) -> None:
    if not isinstance(part, dict):
        raise invalid_type(param, part, "an object")
    kind = part.get("type")
    if kind is None:
        raise missing(f"{param}.type")
    if kind not in allowed:
        # The real backend names the part (`input[1].content[0]`) rather than its `type`.
        raise invalid_value(param, kind, allowed)
    if kind == "input_image":
        _check_image(part, param)
        return
    field = "refusal" if kind == "refusal" else "text"
    for name in part:
        if name not in ("type", field, "annotations", "logprobs"):
            raise unknown_parameter(f"{param}.{name}")
    _require_string(part, param, field)


def _check_image(part: dict[str, Any], param: str) -> None:
    for name in part:
        if name not in ("type", "image_url", "detail", "file_id"):
            raise unknown_parameter(f"{param}.{name}")
    url = _require_string(part, param, "image_url")
    if not (url.startswith("https://") or (url.startswith("data:image/") and ";base64," in url)):
        raise invalid(
            f"Invalid '{param}.image_url'. Expected a valid URL or a base64-encoded data URL "
            "with an image MIME type (e.g. 'data:image/png;base64,...').",
            param=f"{param}.image_url",
            code="invalid_value",
        )
    if url.startswith("data:") and not url.partition(";base64,")[2]:
        raise invalid(
            "Expected a base64-encoded data URL with an image MIME type, but got empty "
            "base64-encoded bytes.",
            param=f"{param}.image_url",
            code="invalid_value",
        )
    if "detail" in part and part["detail"] not in IMAGE_DETAILS:
        raise invalid_value(f"{param}.detail", part["detail"], IMAGE_DETAILS)


def _check_call_output(item: dict[str, Any], param: str, calls: set[str]) -> None:
    call_id = _require_string(item, param, "call_id")
    if "output" not in item:
        raise missing(f"{param}.output")
    output = item["output"]
    if isinstance(output, list):
        for index, part in enumerate(output):
            _check_part(part, f"{param}.output[{index}]", INPUT_PARTS)
    elif not isinstance(output, str):
        raise invalid_type(f"{param}.output", output, "one of a string or array of content")
    if call_id not in calls:
        raise invalid(
            f"No tool call found for function call output with call_id {call_id}.",
            param="input",
            code=None,
        )


def _check_reasoning(item: dict[str, Any], param: str, issued: Container[str]) -> None:
    summary = item.get("summary")
    if "summary" not in item:
        raise missing(f"{param}.summary")
    if not isinstance(summary, list):
        raise invalid_type(f"{param}.summary", summary, "an array")
    for index, part in enumerate(summary):
        where = f"{param}.summary[{index}]"
        if not isinstance(part, dict):
            raise invalid_type(where, part, "an object")
        if part.get("type") != "summary_text":
            raise invalid_value(f"{where}.type", part.get("type"), ("summary_text",))
        _require_string(part, where, "text")
    encrypted = item.get("encrypted_content")
    if encrypted is None:
        return
    if not isinstance(encrypted, str):
        raise invalid_type(f"{param}.encrypted_content", encrypted, "a string")
    if encrypted not in issued:
        item_id = item.get("id", "")
        raise invalid(
            f"The encrypted content for item {item_id} could not be verified.",
            param=None,
            code="invalid_encrypted_content",
        )
