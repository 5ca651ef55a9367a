"""Validation of a `POST /backend-api/codex/responses` body, in the real backend's order:
`instructions`, `store: false`, `stream: true` (each a `{"detail": ...}` 400), then every
parameter it does not take (`Unsupported parameter: <name>`), an unknown model, then the
Responses fields one by one. A Responses Lite model wants its own envelope (`_check_lite`).
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from authai_embed.testing.codex.catalog import (
    DEFAULT_VERBOSITY,
    EFFORTS,
    efforts_of,
    model_info,
    model_slugs,
)
from authai_embed.testing.codex.errors import (
    detail,
    invalid,
    invalid_type,
    invalid_value,
    missing,
    quoted_list,
    unknown_parameter,
)
from authai_embed.testing.codex.input import check_input
from authai_embed.testing.codex.tools import check_tools
from authai_embed.testing.model.stream import ModelCall

__all__ = ["ACCEPTED_PARAMETERS", "LITE_HEADER", "parse_call"]

LITE_HEADER = "x-openai-internal-codex-responses-lite"
"""The header a call to a Responses Lite model (`use_responses_lite` in the catalog) carries."""

ACCEPTED_PARAMETERS = (
    "model",
    "instructions",
    "input",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning",
    "store",
    "stream",
    "include",
    "prompt_cache_key",
    "text",
    "service_tier",
    "client_metadata",
)
SUMMARIES = ("auto", "concise", "detailed")
INCLUDABLE = (
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
    "message.input_image.image_url",
    "web_search_call.action.sources",
)
TOOL_CHOICES = ("none", "auto", "required")
FORMATS = ("text", "json_schema", "json_object")
VERBOSITIES = ("low", "medium", "high")
SERVICE_TIERS = ("auto", "default", "priority")
REASONING_CONTEXTS = ("auto", "current_turn", "all_turns")


def parse_call(
    body: Any,
    issued_reasoning: Container[str],
    *,
    lite_header: bool = False,
    strict_input: bool = True,
) -> ModelCall:
    """The validated call; raises `Rejected` with the real backend's 400 for the first fault.
    `lite_header`: whether the call carried `LITE_HEADER: true`; `strict_input`: shorthand
    input messages are refused."""
    if not isinstance(body, dict):
        raise detail("The request body must be a JSON object")
    info = model_info(body["model"]) if isinstance(body.get("model"), str) else None
    lite = info is not None and info["use_responses_lite"] is True
    instructions = body.get("instructions")
    if lite:
        _check_lite(body, lite_header)
    elif not isinstance(instructions, str):  # absent or not text; "" is accepted upstream
        raise detail("Instructions are required")
    if body.get("store") is not False:
        raise detail("Store must be set to false")
    if body.get("stream") is not True:
        raise detail("Stream must be set to true")
    for name in body:
        if name not in ACCEPTED_PARAMETERS:
            raise detail(f"Unsupported parameter: {name}")
    model = body.get("model")
    if "model" not in body:
        raise missing("model")
    if not isinstance(model, str):
        raise invalid_type("model", model, "a string")
    if model not in model_slugs():
        raise detail(
            f"The '{model}' model is not supported when using Codex with a ChatGPT account."
        )
    items, lite_tools = _additional_tools(body.get("input")) if lite else (body.get("input"), [])
    text = instructions if isinstance(instructions, str) else ""
    call = ModelCall(model, text, check_input(items, issued_reasoning, strict=strict_input))
    call.tools = check_tools(body.get("tools", [])) + lite_tools
    call.tool_choice = _tool_choice(body.get("tool_choice", "auto"))
    parallel = body.get("parallel_tool_calls", False)
    if not isinstance(parallel, bool):
        raise invalid_type("parallel_tool_calls", parallel, "a boolean")
    call.parallel_tool_calls = parallel
    call.effort, call.summary = _reasoning(body.get("reasoning"), model)
    call.include = _include(body.get("include", []))
    call.text = _text(body.get("text", {}), model)
    _scalars(body)
    key = body.get("prompt_cache_key")
    call.prompt_cache_key = key if isinstance(key, str) else None
    return call


def _check_lite(body: dict[str, Any], lite_header: bool) -> None:
    """A Responses Lite call: the header, no top-level instructions or tools (they travel as
    input items), no parallel tool calls."""
    if not lite_header:
        raise detail(
            f"The '{body['model']}' model requires Responses Lite: send the header "
            f"{LITE_HEADER}: true"
        )
    if body.get("instructions") not in (None, ""):
        raise detail("Unsupported parameter: instructions")
    if body.get("tools") not in (None, []):
        raise detail("Unsupported parameter: tools")
    if body.get("parallel_tool_calls") is True:
        raise invalid(
            f"Unsupported value: 'true' is not supported with the '{body['model']}' model. "
            "Supported values are: 'false'.",
            param="parallel_tool_calls",
            code="unsupported_value",
        )


def _additional_tools(items: Any) -> tuple[Any, list[dict[str, Any]]]:
    """A Lite call's input without its `additional_tools` items, and the tools they declare."""
    if not isinstance(items, list):
        return items, []
    rest: list[Any] = []
    tools: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or item.get("type") != "additional_tools":
            rest.append(item)
            continue
        param = f"input[{index}]"
        for name in item:
            if name not in ("type", "role", "tools"):
                raise unknown_parameter(f"{param}.{name}")
        if item.get("role") != "developer":
            raise invalid_value(f"{param}.role", item.get("role"), ("developer",))
        tools += check_tools(item.get("tools"), f"{param}.tools")
    return rest, tools


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, str):
        if choice not in TOOL_CHOICES:
            raise invalid_value("tool_choice", choice, TOOL_CHOICES)
        return choice
    if not isinstance(choice, dict):
        raise invalid_type("tool_choice", choice, "one of a string or object")
    if choice.get("type") != "function":
        raise invalid_value("tool_choice.type", choice.get("type"), ("function",))
    if not isinstance(choice.get("name"), str):
        raise missing("tool_choice.name")
    return choice


def _reasoning(reasoning: Any, model: str) -> tuple[str | None, str | None]:
    if reasoning is None:
        return None, None
    if not isinstance(reasoning, dict):
        raise invalid_type("reasoning", reasoning, "an object")
    for name in reasoning:
        if name not in ("effort", "summary", "context"):
            raise unknown_parameter(f"reasoning.{name}")
    context = reasoning.get("context")
    if context is not None and context not in REASONING_CONTEXTS:
        raise invalid_value("reasoning.context", context, REASONING_CONTEXTS)
    effort = reasoning.get("effort")
    if effort is not None:
        if effort not in EFFORTS:
            raise invalid_value("reasoning.effort", effort, EFFORTS)
        supported = efforts_of(model)
        if effort not in supported:
            raise invalid(
                f"Unsupported value: '{effort}' is not supported with the '{model}' model. "
                f"Supported values are: {quoted_list(supported)}.",
                param="reasoning.effort",
                code="unsupported_value",
            )
    summary = reasoning.get("summary")
    if summary is not None and summary not in SUMMARIES:
        raise invalid_value("reasoning.summary", summary, SUMMARIES)
    return effort, summary


def _include(include: Any) -> list[str]:
    if not isinstance(include, list):
        raise invalid_type("include", include, "an array")
    for index, value in enumerate(include):
        if value not in INCLUDABLE:
            raise invalid_value(f"include[{index}]", value, INCLUDABLE)
    return include


def _text(text: Any, model: str) -> dict[str, Any]:
    if not isinstance(text, dict):
        raise invalid_type("text", text, "an object")
    for name in text:
        if name not in ("format", "verbosity"):
            raise unknown_parameter(f"text.{name}")
    verbosity = text.get("verbosity")
    if "verbosity" in text:
        if verbosity not in VERBOSITIES:
            raise invalid_value("text.verbosity", verbosity, VERBOSITIES)
        info = model_info(model)
        # A model without `support_verbosity` takes only its default, as OpenAI's API answers.
        if info is not None and not info["support_verbosity"] and verbosity != DEFAULT_VERBOSITY:
            raise invalid(
                f"Unsupported value: '{verbosity}' is not supported with the '{model}' model. "
                f"Supported values are: '{DEFAULT_VERBOSITY}'.",
                param="text.verbosity",
                code="unsupported_value",
            )
    fmt = text.get("format", {"type": "text"})
    if not isinstance(fmt, dict):
        raise invalid_type("text.format", fmt, "an object")
    if fmt.get("type") not in FORMATS:
        raise invalid_value("text.format.type", fmt.get("type"), FORMATS)
    if fmt["type"] == "json_schema":
        if not isinstance(fmt.get("name"), str) or not fmt["name"]:
            raise missing("text.format.name")
        if not isinstance(fmt.get("schema"), dict):
            raise missing("text.format.schema")
    return text


def _scalars(body: dict[str, Any]) -> None:
    key = body.get("prompt_cache_key")
    if key is not None and not isinstance(key, str):
        raise invalid_type("prompt_cache_key", key, "a string")
    tier = body.get("service_tier")
    if tier is not None and tier not in SERVICE_TIERS:
        raise detail(f"Unsupported service_tier: {tier}")
    metadata = body.get("client_metadata")
    if metadata is not None and (
        not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values())
    ):
        raise invalid_type("client_metadata", metadata, "an object of strings")
