"""Calls to OpenAI-compatible upstreams (Copilot's API, xAI's API): open a POST as a stream,
read a bounded error body, and turn it into an `UpstreamError` once.

A 401 becomes `UpstreamUnauthorized` (the caller renews the token and retries once); a 429 keeps
its `Retry-After`; other 4xx keep their status and the upstream's message; 5xx become 502.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from authai_embed.errors import UpstreamError
from authai_embed.providers._http import model_request
from authai_embed.providers.base import UpstreamUnauthorized

__all__ = ["ErrorBody", "error_body", "open_post", "upstream_error"]

_ERROR_BODY_LIMIT = 64 * 1024
_MAX_RETRY_AFTER = 31 * 86400


class ErrorBody:
    """An upstream error answer: status, headers, and what its body says (message and code)."""

    __slots__ = ("code", "headers", "message", "status")

    def __init__(self, status: int, headers: httpx.Headers, raw: bytes) -> None:
        self.status = status
        self.headers = headers
        self.message: str | None = None
        self.code: str | None = None
        try:
            data: Any = json.loads(raw)
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        err = data.get("error")
        if isinstance(err, dict):  # OpenAI's envelope (Copilot)
            message, code = err.get("message"), err.get("code") or err.get("type")
        else:  # xAI's flat shape: {"code": "...", "error": "<message>"}
            message, code = err, data.get("code")
        self.message = message[:500] if isinstance(message, str) else None
        self.code = code[:200] if isinstance(code, str) else None

    @property
    def retry_after(self) -> int | None:
        """The `Retry-After` header in seconds, if it is a sane number."""
        header = self.headers.get("retry-after", "")
        if header.isascii() and header.isdecimal() and int(header) > 0:
            return min(int(header), _MAX_RETRY_AFTER)
        return None


async def error_body(response: httpx.Response) -> ErrorBody:
    """Read (at most 64 KiB of) an error answer and close it."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= _ERROR_BODY_LIMIT:
                break
    except httpx.HTTPError:
        pass
    finally:
        await response.aclose()
    return ErrorBody(response.status_code, response.headers, b"".join(chunks)[:_ERROR_BODY_LIMIT])


def upstream_error(err: ErrorBody, provider: str) -> UpstreamError:
    """The default mapping of an upstream error to what the caller sees."""
    if err.status == 401:
        return UpstreamUnauthorized()
    if err.status == 429:
        return UpstreamError(
            err.message or f"{provider} rate limit reached; try again later",
            status=429,
            code=err.code or "rate_limit_exceeded",
            retry_after=err.retry_after or 60,
        )
    if 400 <= err.status < 500:
        message = err.message or f"{provider} rejected the request (status {err.status})"
        return UpstreamError(message, status=err.status, code=err.code)
    return UpstreamError(f"{provider} failed (status {err.status})", status=502, code=err.code)


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
    body = json.dumps(payload, separators=(",", ":")).encode()
    request = model_request(http, url, headers, body)
    try:
        return await http.send(request, stream=True)
    except httpx.TimeoutException:
        raise UpstreamError("the provider did not answer in time", status=504) from None
    except httpx.HTTPError:
        raise UpstreamError("the provider could not be reached", status=502) from None
