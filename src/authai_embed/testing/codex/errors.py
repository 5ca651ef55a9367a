"""The error bodies of the emulated Codex backend, in the two shapes the real one answers with:
`{"detail": "..."}` for the backend's own checks (`Store must be set to false`, an unsupported
parameter or model), and OpenAI's envelope `{"error": {"message", "type", "param", "code"}}` for
validation of the Responses body and for authentication (`token_expired`, `token_invalidated`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "TOKEN_EXPIRED",
    "TOKEN_INVALIDATED",
    "Rejected",
    "auth_error",
    "detail",
    "invalid",
    "invalid_type",
    "invalid_value",
    "missing",
    "not_persisted",
    "quoted_list",
    "unknown_parameter",
]


class Rejected(Exception):
    """A call the backend answers with an HTTP error before any stream."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = list(headers)


def detail(message: str, status: int = 400) -> Rejected:
    """A `{"detail": message}` answer, as the backend's own checks send."""
    return Rejected(status, {"detail": message})


def invalid(
    message: str,
    *,
    param: str | None,
    code: str | None,
    status: int = 400,
    error_type: str = "invalid_request_error",
) -> Rejected:
    """An OpenAI-envelope answer."""
    error = {"message": message, "type": error_type, "param": param, "code": code}
    return Rejected(status, {"error": error})


def quoted_list(values: Iterable[str]) -> str:
    """`'a'`, `'a' and 'b'`, `'a', 'b', and 'c'`: how OpenAI lists supported values."""
    items = [f"'{value}'" for value in values]
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + f", and {items[-1]}"


def invalid_value(param: str, value: Any, supported: Iterable[str]) -> Rejected:
    """`Invalid value: 'x'. Supported values are: ...` for `param`."""
    return invalid(
        f"Invalid value: '{value}'. Supported values are: {quoted_list(supported)}.",
        param=param,
        code="invalid_value",
    )


def missing(param: str) -> Rejected:
    """`Missing required parameter: 'param'.`"""
    return invalid(
        f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def unknown_parameter(param: str) -> Rejected:
    """`Unknown parameter: 'param'.` (a field the item type does not have)."""
    return invalid(f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def invalid_type(param: str, value: Any, expected: str) -> Rejected:
    """`Invalid type for 'param': expected <expected>, but got <kind> instead.`"""
    return invalid(
        f"Invalid type for '{param}': expected {expected}, but got {_kind(value)} instead.",
        param=param,
        code="invalid_type",
    )


def not_persisted(item_id: Any) -> Rejected:
    """The 404 for an input item the backend would have to look up (`store` is false)."""
    return invalid(
        f"Item with id '{item_id}' not found. Items are not persisted when `store` is set to "
        "false. Try again with `store` set to true, or remove this item from your input.",
        param="input",
        code=None,
        status=404,
    )


def auth_error(code: str, message: str) -> Rejected:
    """The backend's 401 for a token it refuses (`token_expired`, `token_invalidated`)."""
    error = {"message": message, "type": "invalid_request_error", "code": code, "param": None}
    return Rejected(401, {"error": error, "status": 401})


TOKEN_EXPIRED = "Provided authentication token is expired. Please try signing in again."
TOKEN_INVALIDATED = "Your authentication token has been invalidated. Please try signing in again."
