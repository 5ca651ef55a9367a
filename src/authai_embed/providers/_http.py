"""Small helpers shared by providers: safe JSON reading and unverified JWT claim peeking."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from authai_embed._util.b64 import b64url_decode
from authai_embed.errors import UpstreamError

__all__ = ["error_code", "json_object", "jwt_claims", "model_request", "send"]

MAX_UPSTREAM_JSON = 1024 * 1024


def model_request(
    http: httpx.AsyncClient, url: httpx.URL | str, headers: Mapping[str, str], body: bytes
) -> httpx.Request:
    """The POST of one model call, as `http.build_request` would make it but at about a third
    of its cost (it runs once per proxied request): the client's default headers under
    `headers`, the client's timeout. The client's cookies and default query parameters are not
    added: one client serves every user, so nothing of one user's may ride on another's call."""
    own = {name.lower().encode("ascii") for name in headers}
    raw = [(k, v) for k, v in http.headers.raw if k.lower() not in own]
    raw += [(k.encode("ascii"), v.encode("ascii")) for k, v in headers.items()]
    return httpx.Request(
        "POST", url, headers=raw, content=body, extensions={"timeout": http.timeout.as_dict()}
    )


async def send(http: httpx.AsyncClient, what: str, request: httpx.Request) -> httpx.Response:
    """Send and read a small upstream answer; network failures become `UpstreamError`s that name
    the step (`what`) and never the request's contents."""
    try:
        response = await http.send(request)
        await response.aread()
    except httpx.TimeoutException:
        raise UpstreamError(f"{what}: the provider did not answer in time", status=504) from None
    except httpx.HTTPError:
        raise UpstreamError(f"{what}: the provider could not be reached", status=502) from None
    return response


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or `None` when it is not one (or is unreasonably large)."""
    if len(response.content) > MAX_UPSTREAM_JSON:
        return None
    try:
        data = json.loads(response.content)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def error_code(body: dict[str, Any] | None) -> str | None:
    """The machine-readable error code of an OAuth/OpenAI-style error body, if any."""
    if body is None:
        return None
    err = body.get("error")
    if isinstance(err, dict):
        code = err.get("code") or err.get("type")
        return code if isinstance(code, str) else None
    return err if isinstance(err, str) else None


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, NOT verified: only for tokens just received over TLS from the issuer.
    Returns `{}` for anything that is not a JWT with a JSON object payload."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = json.loads(b64url_decode(parts[1]))
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
