"""Every error body of the wire contract, built in one place.

`/auth/*` answers use the reference relay's flat shape (`{"error": "..."}`); `/v1/*` answers use
OpenAI's envelope so the official SDKs raise their usual exception classes. Authentication
failures are byte-for-byte identical whatever the cause.
"""

from __future__ import annotations

from authai_embed._util.logs import get_logger
from authai_embed.asgi.http import JSONResponse
from authai_embed.errors import (
    AuthAIError,
    InvalidRequest,
    NotFound,
    RateLimited,
    StoreError,
    Unauthorized,
    UpstreamError,
)

__all__ = [
    "AUTH_UNAUTHORIZED",
    "V1_UNAUTHORIZED",
    "auth_error_response",
    "responses_unsupported",
    "unsupported_endpoint",
    "v1_error_response",
]

logger = get_logger("asgi")

_STORE_DOWN = "the credential store is unavailable; try again shortly"
_INTERNAL = "internal error"

AUTH_UNAUTHORIZED = b'{"error":"unauthorized"}'
V1_UNAUTHORIZED = b'{"error":{"message":"unauthorized","type":"invalid_request_error"}}'


def _retry_headers(retry_after: int | None) -> list[tuple[bytes, bytes]]:
    return [] if retry_after is None else [(b"retry-after", str(retry_after).encode())]


def auth_error_response(exc: BaseException) -> JSONResponse:
    """The `/auth/*` answer for an exception (unexpected ones are logged, answered as 500)."""
    if isinstance(exc, Unauthorized):
        return JSONResponse.from_bytes(AUTH_UNAUTHORIZED, 401)
    if isinstance(exc, NotFound):
        return JSONResponse({"status": "error", "error": exc.message}, 404)
    if isinstance(exc, InvalidRequest):
        return JSONResponse({"error": exc.message}, exc.status)
    if isinstance(exc, RateLimited):
        return JSONResponse({"error": "rate limited"}, 429, _retry_headers(exc.retry_after))
    if isinstance(exc, UpstreamError):
        return JSONResponse({"error": exc.message}, 502, _retry_headers(exc.retry_after))
    if isinstance(exc, StoreError):
        logger.error("store failure: %s", exc)
        return JSONResponse({"error": _STORE_DOWN}, 503, [(b"retry-after", b"1")])
    _log_unexpected(exc)
    return JSONResponse({"error": _INTERNAL}, 500)


def v1_error_response(exc: BaseException) -> JSONResponse:
    """The `/v1/*` answer for an exception, in OpenAI's error envelope."""
    if isinstance(exc, Unauthorized):
        return JSONResponse.from_bytes(V1_UNAUTHORIZED, 401)
    if isinstance(exc, InvalidRequest):
        error: dict[str, object] = {"message": exc.message, "type": "invalid_request_error"}
        if exc.param is not None:
            error["param"] = exc.param
        return JSONResponse({"error": error}, exc.status)
    if isinstance(exc, RateLimited):
        error = {
            "message": f"rate limited: too many requests; retry after {exc.retry_after} s",
            "type": "rate_limit_exceeded",
            "code": "rate_limit_exceeded",
        }
        return JSONResponse({"error": error}, 429, _retry_headers(exc.retry_after))
    if isinstance(exc, UpstreamError):
        error = {"message": exc.message, "type": "provider_error"}
        if exc.code is not None:
            error["code"] = exc.code
        return JSONResponse({"error": error}, exc.status, _retry_headers(exc.retry_after))
    if isinstance(exc, StoreError):
        logger.error("store failure: %s", exc)
        body = {"error": {"message": _STORE_DOWN, "type": "service_unavailable"}}
        return JSONResponse(body, 503, [(b"retry-after", b"1")])
    if isinstance(exc, NotFound):
        return JSONResponse({"error": {"message": exc.message, "type": "not_found"}}, 404)
    _log_unexpected(exc)
    return JSONResponse({"error": {"message": _INTERNAL, "type": "server_error"}}, 500)


def unsupported_endpoint(path: str) -> JSONResponse:
    """Any `/v1/*` route we do not serve."""
    message = f"Endpoint /v1/{path} not supported by AuthAI"
    return JSONResponse({"error": {"message": message, "type": "unsupported_endpoint"}}, 400)


def responses_unsupported(display_name: str) -> JSONResponse:
    """`/v1/responses` for a model (or provider) that cannot serve it."""
    message = f"{display_name} does not support the /v1/responses endpoint"
    return JSONResponse({"error": {"message": message, "type": "unsupported_endpoint"}}, 400)


def _log_unexpected(exc: BaseException) -> None:
    # The type only: an exception's text or traceback could carry request data.
    kind = "AuthAIError" if isinstance(exc, AuthAIError) else type(exc).__name__
    logger.error("unexpected error while handling a request: %s", kind)
