"""Signed webhooks: how a delivery is signed, and `verify_webhook` for the receiving side.

A delivery's `X-AuthAI-Signature` header is `t=<unix seconds>,v1=<hex>`, the HMAC-SHA256 under
the webhook secret of `f"{t}.{body}"`. The timestamp bounds replays: a receiver refuses a
delivery older (or newer) than its tolerance, and dedupes by `X-AuthAI-Delivery` within it.
docs/events.md.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Final

__all__ = ["DELIVERY_HEADER", "SIGNATURE_HEADER", "sign_webhook", "verify_webhook"]

SIGNATURE_HEADER: Final = "X-AuthAI-Signature"
"""The header carrying a delivery's timestamp and signature."""
DELIVERY_HEADER: Final = "X-AuthAI-Delivery"
"""The header carrying a delivery's id: the same on every retry of one event."""


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign_webhook(body: bytes, secret: str | bytes, timestamp: int) -> str:
    """The `X-AuthAI-Signature` value for `body` sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(_key(secret), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_webhook(
    body: bytes | str,
    header: str | None,
    secret: str | bytes,
    tolerance: float = 300,
    *,
    now: float | None = None,
) -> bool:
    """Whether a webhook delivery is authentic and fresh: `header` (the `X-AuthAI-Signature`
    value) signs exactly `body` (the raw request body, before any JSON parsing) under `secret`,
    and its timestamp is within `tolerance` seconds of `now` (default: the current time).

    Compares in constant time; any malformed header is simply `False`. Several `v1=` values
    are accepted (one per secret, while rotating).
    """
    if not header:
        return False
    raw = body.encode() if isinstance(body, str) else body
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign_webhook(raw, secret, timestamp).partition(",v1=")[2].encode()
    found = False
    for signature in signatures:
        found |= hmac.compare_digest(expected, signature.encode("ascii", "replace"))
    return found
