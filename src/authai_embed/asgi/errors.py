"""Every error body and SSE error frame of the wire contract, built in one place.

`/auth/*` answers use the reference relay's flat shape (`{"error": "..."}`), `/v1/*` answers
OpenAI's envelope (so the SDKs raise their usual classes). One table maps each exception to both,
as httpx maps transport exceptions; authentication failures are byte-for-byte identical.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authai_embed._util.logs import get_logger
from authai_embed.asgi.http import JSONResponse
from authai_embed.errors import (
    AuthAIError,
    InvalidRequest,
    ModelNotAllowed,
    NotFound,
    QuotaExceeded,
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
    "chat_stream_error",
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


def _quota_exceeded(exc: QuotaExceeded) -> Answer:
    v1 = _v1(exc.message, "quota_exceeded", code="quota_exceeded")
    return Answer(429, {"error": exc.message}, v1, _retry(exc.retry_after))


def _model_not_allowed(exc: ModelNotAllowed) -> Answer:
    v1 = _v1(exc.message, "invalid_request_error", param="model", code="model_not_allowed")
    return Answer(403, {"error": exc.message}, v1)


def _upstream(exc: UpstreamError) -> Answer:
    # The broker's own calls to the provider failed: a bad gateway, whatever it said.
    v1 = _v1(exc.message, "provider_error", code=exc.code)
    auth: dict[str, Any] = {"error": exc.message}
    if isinstance(exc, SignInDisabled):  # (ours) the user can fix this one: say how
        auth |= {"code": exc.code, "help": exc.help_url}
    return Answer(exc.status, auth, v1, _retry(exc.retry_after), auth_status=502)


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
    (
        InvalidRequest,
        lambda exc: Answer(
            exc.status,
            {"error": exc.message},
            _v1(exc.message, "invalid_request_error", param=exc.param),
        ),
    ),
    (RateLimited, _rate_limited),
    (QuotaExceeded, _quota_exceeded),
    (ModelNotAllowed, _model_not_allowed),
    (UpstreamError, _upstream),
    (StoreError, _store_down),
)
_UNEXPECTED = Answer(500, {"error": _INTERNAL}, _v1(_INTERNAL, "server_error"))


def error_response(exc: BaseException, *, v1: bool) -> JSONResponse:
    """The answer to `exc` on `/v1/*` (`v1`) or elsewhere; unexpected ones are logged, `500`."""
    answer = next((to(exc) for kind, to in _ANSWERS if isinstance(exc, kind)), None)
    if answer is None:
        # The type only: an exception's text or traceback could carry request data.
        kind = "AuthAIError" if isinstance(exc, AuthAIError) else type(exc).__name__
        logger.error("unexpected error while handling a request: %s", kind)
        answer = _UNEXPECTED
    if v1:
        return _json(answer.v1, answer.status, answer.headers)
    return _json(answer.auth, answer.auth_status or answer.status, answer.headers)


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
