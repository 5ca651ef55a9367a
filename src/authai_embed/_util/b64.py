"""URL-safe base64 without padding, strict on decode (used for JWT claims and ids)."""

from __future__ import annotations

import base64
import binascii

_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64url_encode(data: bytes) -> str:
    """Encode `data` as base64url with the `=` padding stripped."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; raise `ValueError` on any character outside the alphabet."""
    raw = text.encode("ascii", "strict") if text.isascii() else b"\xff"
    if not raw or not _ALPHABET.issuperset(raw) or len(raw) % 4 == 1:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except binascii.Error as exc:  # pragma: no cover - alphabet check catches this first
        raise ValueError("not base64url") from exc
