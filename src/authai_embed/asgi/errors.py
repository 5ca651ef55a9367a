"""Every error body and SSE error frame of the wire contract, built in one place.

`/auth/*` answers use the reference relay's flat shape (`{"error": "..."}`), `/v1/*` answers
OpenAI's envelope (so the SDKs raise their usual classes), and the Anthropic routes
(`/v1/messages`) Anthropic's (`{"type": "error", "error": {"type", "message"}}`). One table maps
each exception to all three, as httpx maps transport exceptions; authentication failures are
byte-for-byte identical on every `/v1` route, the Anthropic ones included.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from authai_embed._util.logs import get_logger
from authai_embed.asgi.http import JSONResponse
from authai_embed.errors import (
    AuthAIError,
    InvalidRequest,
    NotFound,
    RateLimited,
    SignInDisabled,
    StoreError,
    Unauthorized,
    UpstreamError,
)
from authai_embed.proxy.translate.sse import encode_data, encode_event

__all__ = [
    "AUTH_UNAUTHORIZED",
    "V1_UNAUTHORIZED",
    "CrossSite",
    "anthropic_error_type",
    "anthropic_stream_error",
    "chat_stream_error",
    "count_tokens_unsupported",
    "error_response",
    "method_not_allowed",
    "origin_not_allowed",
    "responses_stream_error",
    "responses_unsupported",
    "route_not_found",
    "unsupported_endpoint",
]

logger = get_logger("asgi")

AUTH_UNAUTHORIZED = b'{"error":"unauthorized"}'
V1_UNAUTHORIZED = b'{"error":{"message":"unauthorized","type":"invalid_request_error"}}'
AUTH_FORBIDDEN = b'{"error":"forbidden"}'
V1_FORBIDDEN = b'{"error":{"message":"forbidden","type":"forbidden"}}'
_STORE_DOWN = "the credential store is unavailable; try again shortly"
_INTERNAL = "internal error"

Body = bytes | dict[str, Any]  # bytes: a constant, already encoded
Headers = tuple[tuple[bytes, bytes], ...]


class CrossSite(Exception):
    """Cookie mode refused a cross-site request (`cookies.py`): answered `403`."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What one exception is answered with on each half of the mount."""

    status: int
    auth: Body
    v1: Body
    headers: Headers = ()
    auth_status: int | None = None  # when `/auth/*` answers another status than `/v1/*`


def _v1(message: str, kind: str, **extra: object) -> dict[str, Any]:
    """OpenAI's envelope; an extra field that is `None` is left out."""
    error = {"message": message, "type": kind, **{k: v for k, v in extra.items() if v is not None}}
    return {"error": error}


def _retry(retry_after: int | None) -> Headers:
    return () if retry_after is None else ((b"retry-after", str(retry_after).encode()),)


def _rate_limited(exc: RateLimited) -> Answer:
    message = f"rate limited: too many requests; retry after {exc.retry_after} s"
    v1 = _v1(message, "rate_limit_exceeded", code="rate_limit_exceeded")
    return Answer(429, {"error": "rate limited"}, v1, _retry(exc.retry_after))


def _upstream(exc: UpstreamError) -> Answer:
    # The broker's own calls to the provider failed: a bad gateway, whatever it said.
    v1 = _v1(exc.message, "provider_error", code=exc.code)
    auth: dict[str, Any] = {"error": exc.message}
    if isinstance(exc, SignInDisabled):  # (ours) the user can fix this one: say how
        auth |= {"code": exc.code, "help": exc.help_url}
    return Answer(exc.status, auth, v1, _retry(exc.retry_after), auth_status=502)


def _invalid(exc: InvalidRequest) -> Answer:
    auth: dict[str, Any] = {"error": exc.message}
    if exc.code is not None:  # (ours) a stable code beside the message
        auth["code"] = exc.code
    v1 = _v1(exc.message, "invalid_request_error", param=exc.param, code=exc.code)
    return Answer(exc.status, auth, v1)


def _store_down(exc: StoreError) -> Answer:
    logger.error("store failure: %s", exc)
    v1 = _v1(_STORE_DOWN, "service_unavailable")
    return Answer(503, {"error": _STORE_DOWN}, v1, ((b"retry-after", b"1"),))


# The exception classes are disjoint, so the order below is only the order of reading.
_ANSWERS: tuple[tuple[type[Exception], Callable[[Any], Answer]], ...] = (
    (Unauthorized, lambda exc: Answer(401, AUTH_UNAUTHORIZED, V1_UNAUTHORIZED)),
    (CrossSite, lambda exc: Answer(403, AUTH_FORBIDDEN, V1_FORBIDDEN)),
    (
        NotFound,
        lambda exc: Answer(
            404, {"status": "error", "error": exc.message}, _v1(exc.message, "not_found")
        ),
    ),
    (InvalidRequest, _invalid),
    (RateLimited, _rate_limited),
    (UpstreamError, _upstream),
    (StoreError, _store_down),
)
_UNEXPECTED = Answer(500, {"error": _INTERNAL}, _v1(_INTERNAL, "server_error"))


def error_response(exc: BaseException, *, v1: bool, anthropic: bool = False) -> JSONResponse:
    """The answer to `exc` on `/v1/*` (`v1`; in Anthropic's shape with `anthropic`) or
    elsewhere; unexpected ones are logged, `500`."""
    answer = next((to(exc) for kind, to in _ANSWERS if isinstance(exc, kind)), None)
    if answer is None:
        # The type only: an exception's text or traceback could carry request data.
        kind = "AuthAIError" if isinstance(exc, AuthAIError) else type(exc).__name__
        logger.error("unexpected error while handling a request: %s", kind)
        answer = _UNEXPECTED
    if anthropic and answer.v1 is not V1_UNAUTHORIZED:  # the 401 stays the one every route sends
        body = answer.v1 if isinstance(answer.v1, dict) else json.loads(answer.v1)
        error = _anthropic(anthropic_error_type(answer.status), str(body["error"]["message"]))
        return _json(error, answer.status, answer.headers)
    if v1:
        return _json(answer.v1, answer.status, answer.headers)
    return _json(answer.auth, answer.auth_status or answer.status, answer.headers)


# -- Anthropic's envelope (the `/v1/messages` routes) -----------------------------------------

_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}
# Mid-stream, only a code is known: these are the ones that are not a plain server error.
_ANTHROPIC_STREAM_TYPES = {
    "rate_limit_exceeded": "rate_limit_error",
    "usage_limit_reached": "rate_limit_error",
    "usage_not_included": "rate_limit_error",
    "server_is_overloaded": "overloaded_error",
}


def anthropic_error_type(status: int) -> str:
    """Anthropic's error `type` for an HTTP status (what its SDK and clients switch on)."""
    found = _ANTHROPIC_TYPES.get(status)
    if found is not None:
        return found
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


def _anthropic(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def anthropic_stream_error(error: Mapping[str, Any]) -> bytes:
    """The `event: error` frame ending an Anthropic stream, from a chat error object."""
    code = error.get("code")
    kind = _ANTHROPIC_STREAM_TYPES.get(code, "api_error") if isinstance(code, str) else "api_error"
    message = error.get("message")
    text = message if isinstance(message, str) else "the provider's stream broke off"
    return encode_event("error", _anthropic(kind, text))


def count_tokens_unsupported() -> JSONResponse:
    """`/v1/messages/count_tokens`: no provider behind the mount can count a prompt's tokens."""
    message = (
        "count_tokens is not supported by AuthAI: none of its providers can count tokens "
        "without running the model; use the usage of a /v1/messages answer instead"
    )
    return _json(_anthropic("not_found_error", message), 404)


def _json(body: Body, status: int, headers: Headers = ()) -> JSONResponse:
    if isinstance(body, bytes):
        return JSONResponse.from_bytes(body, status, headers)
    return JSONResponse(body, status, headers)


# -- answers of the routing itself -----------------------------------------------------------


def route_not_found() -> JSONResponse:
    """A path outside `/v1` that no route serves."""
    return _json({"error": "not found"}, 404)


def method_not_allowed(method: str) -> JSONResponse:
    """A broker route asked with another method than its own (`method`)."""
    return _json({"error": "method not allowed"}, 405, ((b"allow", method.encode()),))


def origin_not_allowed() -> JSONResponse:
    """A CORS preflight from an origin off the allowlist."""
    return _json({"error": "origin not allowed"}, 403)


def unsupported_endpoint(path: str) -> JSONResponse:
    """Any `/v1/*` route we do not serve."""
    message = f"Endpoint /v1/{path} not supported by AuthAI"
    return _json(_v1(message, "unsupported_endpoint"), 400)


def responses_unsupported(display_name: str) -> JSONResponse:
    """`/v1/responses` for a model (or provider) that cannot serve it."""
    message = f"{display_name} does not support the /v1/responses endpoint"
    return _json(_v1(message, "unsupported_endpoint"), 400)


# -- the frames that end a stream that broke off ---------------------------------------------


def _stream_error(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, UpstreamError):
        return {"message": exc.message, "type": "provider_error", "code": exc.code}
    return {"message": "the provider's stream broke off", "type": "provider_error", "code": None}


def chat_stream_error(exc: BaseException) -> bytes:
    """The `data: {"error": ...}` frame ending a Chat Completions stream (`[DONE]` follows)."""
    return encode_data({"error": _stream_error(exc)})


def responses_stream_error(exc: BaseException) -> bytes:
    """The `event: error` frame ending a Responses stream."""
    # `type` comes first and is then overwritten: the frame the clients have always seen.
    return encode_event("error", {"type": "error", **_stream_error(exc)})
