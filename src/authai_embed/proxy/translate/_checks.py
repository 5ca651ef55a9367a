"""Validators for the Chat Completions request body: each failure names the parameter at fault.

Every malformed field, at any depth, becomes one `InvalidRequest` with a `param` such as
`messages[2].content[1].image_url`, never a `KeyError` deep in the translation; `Budget` bounds
the work one request can make us do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authai_embed.errors import InvalidRequest

__all__ = [
    "Budget",
    "RequestLimits",
    "invalid_type",
    "one_of",
    "want_bool",
    "want_list",
    "want_mapping",
    "want_str",
]


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """How much one Chat Completions request may ask us to translate.

    Beyond `max_messages` or `max_tools`: a 400 naming the parameter; beyond `max_parts` or
    `max_chars`: a 413, the body is too large.
    """

    max_messages: int = 10_000
    max_parts: int = 100_000
    """Content parts and tool calls, over all messages."""
    max_chars: int = 16 * 1024 * 1024
    """Characters of text, image URLs and tool arguments, over all messages."""
    max_tools: int = 512


def kind(value: Any) -> str:
    """How a JSON value is called in messages: `a string`, `an array`, `null`, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def invalid_type(param: str, value: Any, expected: str) -> InvalidRequest:
    """`<param> must be <expected>, not <kind>`."""
    return InvalidRequest(f"{param} must be {expected}, not {kind(value)}", param=param)


def want_str(value: Any, param: str, *, empty: bool = True) -> str:
    """`value` if it is a string (and, with `empty=False`, not empty)."""
    if not isinstance(value, str):
        raise invalid_type(param, value, "a string")
    if not empty and not value:
        raise InvalidRequest(f"{param} must not be empty", param=param)
    return value


def want_bool(value: Any, param: str) -> bool:
    """`value` if it is `true` or `false`."""
    if not isinstance(value, bool):
        raise invalid_type(param, value, "a boolean")
    return value


def want_mapping(value: Any, param: str) -> Mapping[str, Any]:
    """`value` if it is a JSON object."""
    if not isinstance(value, Mapping):
        raise invalid_type(param, value, "an object")
    return value


def want_list(value: Any, param: str) -> list[Any] | tuple[Any, ...]:
    """`value` if it is a JSON array."""
    if not isinstance(value, list | tuple):
        raise invalid_type(param, value, "an array")
    return value


def want_number(value: Any, param: str, low: float, high: float) -> float:
    """`value` if it is a number between `low` and `high` (inclusive)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_type(param, value, "a number")
    if not low <= value <= high:
        raise InvalidRequest(f"{param} must be between {low:g} and {high:g}", param=param)
    return value


def want_int(value: Any, param: str, low: int) -> int:
    """`value` if it is an integer of at least `low`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(param, value, "an integer")
    if value < low:
        raise InvalidRequest(f"{param} must be at least {low}", param=param)
    return value


def one_of(value: Any, param: str, choices: tuple[str, ...]) -> str:
    """`value` if it is one of `choices`."""
    if not isinstance(value, str) or value not in choices:
        shown = repr(value) if isinstance(value, str) else kind(value)
        raise InvalidRequest(
            f"{param} must be one of {', '.join(repr(c) for c in choices)}, not {shown}",
            param=param,
        )
    return value


class Budget:
    """Counts the characters and parts a request makes us copy; too many is a 413."""

    __slots__ = ("_chars", "_limits", "_parts")

    def __init__(self, limits: RequestLimits) -> None:
        self._limits = limits
        self._chars = 0
        self._parts = 0

    def text(self, value: str, param: str) -> str:
        """Count `value`; returns it."""
        self._chars += len(value)
        if self._chars > self._limits.max_chars:
            raise InvalidRequest(
                f"the request is too large: its text exceeds {self._limits.max_chars} characters",
                param=param,
                status=413,
            )
        return value

    def part(self, param: str) -> None:
        """Count one content part or tool call."""
        self._parts += 1
        if self._parts > self._limits.max_parts:
            raise InvalidRequest(
                f"the request is too large: more than {self._limits.max_parts} content parts "
                "and tool calls",
                param=param,
                status=413,
            )
