"""The error shapes the emulated servers answer with, and reading OAuth-style parameters:
OpenAI's envelope `{"error": {"message", "type", "param", "code"}}` (device-code endpoints,
refresh token rejections) and RFC 6749's flat `{"error", "error_description"}` (token endpoints).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import parse_qsl

from authai_embed.asgi.http import JSONResponse, Request
from authai_embed.errors import InvalidRequest

__all__ = ["FORM_LIMIT", "lifetime_field", "oauth_error", "openai_error", "read_params"]

MAX_FIELDS = 32
FORM_LIMIT = 64 * 1024
"""The largest OAuth request body the GitHub and xAI sides read."""


def openai_error(
    status: int,
    code: str,
    message: str,
    *,
    error_type: str = "invalid_request_error",
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> JSONResponse:
    """An error in OpenAI's envelope."""
    error = {"message": message, "type": error_type, "param": None, "code": code}
    return JSONResponse({"error": error}, status, headers)


def lifetime_field(
    answer: dict[str, Any], ttl: int, style: Literal["seconds", "absent", "zero"]
) -> dict[str, Any]:
    """A token answer with its `expires_in` as the knob says: the seconds, no field, or `0`
    (some servers send either; the access token's `exp` claim is then the only clock)."""
    if style == "absent":
        return answer
    return {**answer, "expires_in": ttl if style == "seconds" else 0}


def oauth_error(
    status: int, error: str, description: str | None = None, **extra: Any
) -> JSONResponse:
    """An error in the OAuth 2.0 token endpoint's shape (RFC 6749 section 5.2), plus `extra`
    fields; the description defaults to the code in words (`slow down`)."""
    if description is None:
        description = error.replace("_", " ")
    return JSONResponse({"error": error, "error_description": description, **extra}, status)


async def read_params(request: Request, limit: int) -> dict[str, str]:
    """The parameters of a form-encoded or JSON body, as strings.

    Raises `InvalidRequest` for another content type, a repeated or non-string parameter, or a
    body that does not parse.
    """
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        data = await request.json(limit)
        if not isinstance(data, dict):
            raise InvalidRequest("the JSON body must be an object")
        if not all(isinstance(v, str) for v in data.values()):
            raise InvalidRequest("every parameter must be a string")
        return dict(data)
    if ctype != "application/x-www-form-urlencoded":
        raise InvalidRequest(
            "content type must be application/x-www-form-urlencoded or application/json",
            status=415,
        )
    raw = await request.body(limit)
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("invalid form body") from None
    params = dict(pairs)
    if len(params) != len(pairs):
        raise InvalidRequest("a parameter must not be repeated")
    return params
