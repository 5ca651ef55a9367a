"""Talking to a provider: a model call's request, every answer read bounded, errors mapped once.

Sign-in steps and catalogs `send` and get an `Answer`; model calls `open_post` and, on failure,
`read_failure` then `upstream_error` (a provider's own cases are hooks tried before it). The pure
`error_fields` also reads the errors inside a Responses stream (`proxy/translate/response_terms`).
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeGuard

import httpx

from authai_embed._util.b64 import b64url_decode
from authai_embed._util.logs import redact
from authai_embed.errors import UpstreamError
from authai_embed.providers.base import UpstreamUnauthorized

__all__ = [
    "ANSWER_LIMIT",
    "ERROR_BODY_LIMIT",
    "MAX_RETRY_AFTER",
    "Answer",
    "Failure",
    "error_fields",
    "json_object",
    "jwt_claims",
    "model_request",
    "oauth_error_code",
    "open_post",
    "read_bounded",
    "read_failure",
    "read_json",
    "retry_after",
    "send",
    "upstream_error",
    "usage_wait",
]

ANSWER_LIMIT: Final = 1024 * 1024
"""The largest sign-in or catalog answer read; a longer one counts as no answer."""
ERROR_BODY_LIMIT: Final = 64 * 1024
"""The largest error body read from a failed model call; a longer one says nothing."""
MAX_RETRY_AFTER: Final = 31 * 86400
"""A wait further away than this is a unit mistake (ms for s), not a plan."""
MESSAGE_LIMIT: Final = 500
CODE_LIMIT: Final = 100


def json_object(raw: bytes) -> dict[str, Any] | None:
    """`raw` as a JSON object, or `None` when it is not one."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def read_json(response: httpx.Response, limit: int) -> dict[str, Any] | None:
    """The body as a JSON object, reading at most `limit` bytes, then close the response:
    `None` when it is longer, not JSON or not an object. Network failures propagate."""
    try:
        body = await read_bounded(response, limit)
    finally:
        await response.aclose()
    return None if body is None else json_object(body)


async def read_bounded(response: httpx.Response, limit: int) -> bytes | None:
    """The body, decoded (identity, gzip or deflate), or `None` once it passes `limit` bytes
    DECODED, has another encoding or does not decompress. Decompression stops at the limit: a
    small compressed answer that would inflate to gigabytes costs `limit` bytes, not the
    inflated size."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in _DECODERS:
        return None
    inflate = _DECODERS[encoding]()
    chunks: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        data = raw
        while data:
            room = limit - size + 1  # one byte more than allowed tells "too long"
            try:
                piece = data if inflate is None else inflate.decompress(data, room)
            except zlib.error:
                return None
            data = b"" if inflate is None else inflate.unconsumed_tail
            size += len(piece)
            if size > limit:
                return None
            chunks.append(piece)
    return b"".join(chunks)


def _gzip() -> Any:
    return zlib.decompressobj(16 + zlib.MAX_WBITS)


def _deflate() -> Any:
    return zlib.decompressobj()


def _identity() -> None:
    return None


_DECODERS: Final[dict[str, Callable[[], Any]]] = {
    "identity": _identity,
    "": _identity,
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _deflate,
}


_COMPACT: Final = json.JSONEncoder(separators=(",", ":"))
"""`json.dumps(obj, separators=(",", ":"))`, built once rather than on every call."""


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, NOT verified: only for tokens just received over TLS from the issuer.
    Returns `{}` for anything that is not a JWT with a JSON object payload."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        return json_object(b64url_decode(parts[1])) or {}
    except ValueError:
        return {}


def _words(value: Any, limit: int) -> str | None:
    # The provider's words reach clients and logs: cut, and never a token it may have echoed.
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return redact(str(value)[:limit]) or None


def error_fields(err: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The message and code of one error object (`{"message", "code", "type"}`), redacted; the
    code falls back to the `type` unless that is the generic `"error"`."""
    message = err.get("message")
    code = err.get("code")
    if code is None or code == "":
        kind = err.get("type")
        code = kind if kind != "error" else None
    text = _words(message, MESSAGE_LIMIT) if isinstance(message, str) else None
    return text, _words(code, CODE_LIMIT)


def _error_object(body: Mapping[str, Any] | None) -> dict[str, Any]:
    """The error object of an error body, whichever shape the provider answers with: OpenAI's
    envelope `{"error": {...}}`, xAI's flat `{"code": ..., "error": "<message>"}`, or FastAPI's
    `{"detail": "<message>"}` (the Codex backend's own checks)."""
    if body is None:
        return {}
    err = body.get("error")
    found = dict(err) if isinstance(err, Mapping) else {"message": err, "code": body.get("code")}
    if not found.get("message"):
        found["message"] = body.get("detail")
    return found


def oauth_error_code(body: Mapping[str, Any] | None) -> str | None:
    """The code of an OAuth error answer: RFC 6749's flat `{"error": "<code>"}`, or the code of
    OpenAI's envelope (ChatGPT's device endpoints)."""
    err = body.get("error") if body is not None else None
    if isinstance(err, str):
        return err
    return error_fields(err)[1] if isinstance(err, Mapping) else None


def retry_after(headers: httpx.Headers) -> int | None:
    """The `Retry-After` header in seconds, if it is a sane number."""
    header = headers.get("retry-after", "")
    if header.isascii() and header.isdecimal() and int(header) > 0:
        return min(int(header), MAX_RETRY_AFTER)
    return None


_TRY_AGAIN: Final = re.compile(r"try again in\s*(\d+(?:\.\d+)?)\s*(ms|s)\b", re.IGNORECASE)


def usage_wait(err: Mapping[str, Any], now: float, header: int | None = None) -> int:
    """Seconds until a limit the provider reported resets, from the error object's
    `resets_in_seconds`, else its `resets_at` (Unix s), else "try again in 1.5s" in its
    message (how rate-limit failures word it), else `header` (`Retry-After`), else 60."""
    found: list[Any] = [err.get("resets_in_seconds")]
    resets_at = err.get("resets_at")
    if _number(resets_at):
        found.append(resets_at - now)
    message = err.get("message")
    said = _TRY_AGAIN.search(message) if isinstance(message, str) else None
    if said is not None:
        found.append(float(said[1]) / (1000 if said[2].lower() == "ms" else 1))
    for value in found:
        if _number(value) and value > 0:
            return max(1, min(int(value + 0.999), MAX_RETRY_AFTER))
    return header or 60


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _unreached(exc: httpx.HTTPError, what: str | None) -> UpstreamError:
    # Name the step, never the request's contents (they may hold a token).
    prefix = f"{what}: " if what else ""
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamError(f"{prefix}the provider did not answer in time", status=504)
    return UpstreamError(f"{prefix}the provider could not be reached", status=502)


@dataclass(frozen=True, slots=True)
class Answer:
    """A sign-in step's or catalog's answer: its status and its body as a JSON object (`None`
    when it is not one or is longer than `ANSWER_LIMIT`)."""

    status_code: int
    body: dict[str, Any] | None = field(repr=False)

    @property
    def is_success(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status_code < 300


async def send(http: httpx.AsyncClient, what: str, request: httpx.Request) -> Answer:
    """Send and read a small upstream answer; network failures become `UpstreamError`s (502/504)
    that name the step (`what`)."""
    try:
        response = await http.send(request, stream=True)
        body = await read_json(response, ANSWER_LIMIT)
    except httpx.HTTPError as exc:
        raise _unreached(exc, what) from None
    return Answer(response.status_code, body)


def model_request(
    http: httpx.AsyncClient, url: httpx.URL | str, headers: Mapping[str, str], body: bytes
) -> httpx.Request:
    """The POST of one model call, as `http.build_request` would make it but cheaper (it runs
    once per proxied request): the client's default headers under `headers`, the client's
    timeout. The client's cookies and default query parameters are not added: one client
    serves every user, so nothing of one user's may ride on another's call."""
    target = url if isinstance(url, httpx.URL) else httpx.URL(url)
    own = {name.lower().encode("ascii") for name in headers}
    raw = [(k, v) for k, v in http.headers.raw if k.lower() not in own]
    raw += [(k.encode("ascii"), v.encode("ascii")) for k, v in headers.items()]
    # The headers `httpx.Request(content=body)` would add, in its places (`Host` first,
    # `Content-Length` last), so that the request is built once, not merged and rebuilt.
    names = {k.lower() for k, _ in raw}
    if b"content-length" not in names:
        raw.append((b"Content-Length", str(len(body)).encode("ascii")))
    if b"host" not in names and target.host:
        raw.insert(0, (b"Host", target.netloc))
    request = httpx.Request(
        "POST",
        target,
        headers=raw,
        stream=httpx.ByteStream(body),
        extensions={"timeout": http.timeout.as_dict()},
    )
    request.read()  # `content` readable, as with `content=body`
    return request


async def open_post(
    http: httpx.AsyncClient,
    url: str | httpx.URL,
    headers: Mapping[str, str],
    payload: dict[str, Any],
) -> httpx.Response:
    """POST `payload` as JSON and return the response with its body unread (any status).
    Network failures become `UpstreamError` (502/504)."""
    headers = {
        **headers,
        "content-type": "application/json",
        # The body is relayed raw (never buffered): ask for it uncompressed.
        "accept-encoding": "identity",
    }
    body = _COMPACT.encode(payload).encode()
    try:
        return await http.send(model_request(http, url, headers, body), stream=True)
    except httpx.HTTPError as exc:
        raise _unreached(exc, None) from None


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed model call, read: its status, `Retry-After`, the message and code its body
    gives, and the body's error object (for a provider hook's own fields)."""

    status: int
    retry_after: int | None
    message: str | None
    code: str | None
    error: Mapping[str, Any] = field(repr=False)


async def read_failure(response: httpx.Response) -> Failure:
    """Read (at most `ERROR_BODY_LIMIT` of) a failed call's answer and close it; a body the
    network cut off says nothing."""
    try:
        body = await read_json(response, ERROR_BODY_LIMIT)
    except httpx.HTTPError:
        body = None
    error = _error_object(body)
    message, code = error_fields(error)
    return Failure(response.status_code, retry_after(response.headers), message, code, error)


def upstream_error(failure: Failure, name: str = "the provider") -> UpstreamError:
    """What a failed model call raises, the same for every provider (`name` in its words).

    A 401 is `UpstreamUnauthorized` (the caller renews the token and retries once); a 429 keeps
    its `Retry-After`; other 4xx keep their status and the upstream's message; 5xx become 502.
    """
    status, message, code = failure.status, failure.message, failure.code
    if status == 401:
        return UpstreamUnauthorized()
    if status == 429:
        return UpstreamError(
            message or f"{name} rate limit reached; try again later",
            status=429,
            code=code or "rate_limit_exceeded",
            retry_after=failure.retry_after or 60,
        )
    if 400 <= status < 500:
        message = message or f"{name} rejected the request (status {status})"
        return UpstreamError(message, status=status, code=code)
    return UpstreamError(f"{name} failed (status {status})", status=502, code=code)
