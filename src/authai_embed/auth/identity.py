"""Opaque, stable user ids: the host app sees who a user is without learning their account id."""

from __future__ import annotations

import hashlib
import hmac

from authai_embed._util.b64 import b64url_encode

__all__ = ["user_id"]


def user_id(identity_key: bytes, provider: str, account_id: str) -> str:
    """`base64url_nopad(HMAC-SHA256(identity_key, provider || 0x00 || account_id))`.

    The same account on the same provider always maps to the same id under one identity key; the
    id reveals nothing about the account without the key.
    """
    message = provider.encode() + b"\x00" + account_id.encode()
    return b64url_encode(hmac.new(identity_key, message, hashlib.sha256).digest())
