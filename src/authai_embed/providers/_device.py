"""Device-flow answers, read the same way for every provider: RFC 8628's device authorization
and token-endpoint error codes (GitHub, xAI), poll intervals and token lifetimes (ChatGPT too)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authai_embed.errors import UpstreamError
from authai_embed.providers._upstream import jwt_claims
from authai_embed.providers.base import DevicePoll, DeviceStart

__all__ = ["access_lifetime", "device_start", "poll_interval", "poll_outcome", "token_lifetime"]

DEFAULT_INTERVAL = 5.0
DEFAULT_LIFETIME = 900.0
_YEAR = 366 * 86400.0


def _seconds(value: Any, default: float, low: float, high: float) -> float:
    try:
        seconds = float(str(value).strip()) if value is not None else default
    except ValueError:
        return default
    return seconds if low <= seconds <= high else default


def poll_interval(value: Any) -> float:
    """The poll interval a server sent, as a string ("5") or a number: 1 to 60 s, else 5 s."""
    return _seconds(value, DEFAULT_INTERVAL, 1.0, 60.0)


def token_lifetime(value: Any, default: float) -> float:
    """A token answer's `expires_in`: a positive number of seconds, else `default`."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return default


def access_lifetime(body: Mapping[str, Any], now: float, default: float) -> float:
    """Seconds the answer's access token lives: `expires_in` when positive, else the token's
    own `exp` claim (not verified: it only plans the refresh), else `default`."""
    stated = token_lifetime(body.get("expires_in"), 0.0)
    if stated > 0:
        return stated
    access = body.get("access_token")
    exp = jwt_claims(access).get("exp") if isinstance(access, str) else None
    if isinstance(exp, int | float) and not isinstance(exp, bool) and 0 < exp - now <= _YEAR:
        return float(exp - now)
    return default


def device_start(body: dict[str, Any] | None, *, fallback_url: str, what: str) -> DeviceStart:
    """A `DeviceStart` from an RFC 8628 device authorization answer; `verification_uri_complete`
    (the code already filled in) is preferred when present."""
    if body is None:
        raise UpstreamError(f"{what} returned an unexpected answer")
    device_code, user_code = body.get("device_code"), body.get("user_code")
    if not isinstance(device_code, str) or not isinstance(user_code, str):
        raise UpstreamError(f"{what} returned an unexpected answer")
    url = body.get("verification_uri_complete") or body.get("verification_uri")
    return DeviceStart(
        user_code=user_code,
        verification_url=url if isinstance(url, str) and url.startswith("http") else fallback_url,
        interval=poll_interval(body.get("interval")),
        expires_in=_seconds(body.get("expires_in"), DEFAULT_LIFETIME, 30.0, 3600.0),
        state={"device_code": device_code},
    )


def poll_outcome(code: str | None, body: dict[str, Any] | None) -> DevicePoll | None:
    """The poll outcome an RFC 8628 error code means, or `None` for any other error.

    `slow_down` carries the interval the server asked for, when it named one (GitHub does);
    the broker then keeps at least its own interval plus 5 s, as the RFC says.
    """
    if code == "authorization_pending":
        return DevicePoll("pending")
    if code == "slow_down":
        interval = body.get("interval") if body is not None else None
        asked = _seconds(interval, 0.0, 1.0, 600.0) if interval is not None else None
        return DevicePoll("slow_down", interval=asked or None)
    if code == "expired_token":
        return DevicePoll("expired")
    if code == "access_denied":
        return DevicePoll("denied", message="the sign-in was denied")
    return None
