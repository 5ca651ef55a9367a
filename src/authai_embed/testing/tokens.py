"""Minting the emulator's tokens for every side: JWT-shaped tokens and opaque ones.

Every token string contains `TOKEN_MARKER` verbatim (a JWT-shaped one in its random signature
segment), so a test can prove that no token leaked into a log, a response or a database file by
searching for it. What a token says (claims, prefixes) belongs to each side.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from authai_embed._util.b64 import b64url_encode

__all__ = ["TOKEN_MARKER", "jwt_shaped", "marked_token", "new_kid"]

TOKEN_MARKER = "EMUSECRET"
"""Literal text in every token the emulator issues (base64url-safe: JWTs stay well-formed)."""


def new_kid() -> str:
    """A key id for the JWT header; one per issuer, like a real issuer's signing key."""
    return f"emulator-{secrets.token_hex(8)}"


def marked_token(prefix: str, nbytes: int = 32) -> str:
    """An opaque token: `prefix`, the marker, then `nbytes` of random base64url text."""
    return f"{prefix}{TOKEN_MARKER}{secrets.token_urlsafe(nbytes)}"


def jwt_shaped(claims: dict[str, Any], kid: str) -> str:
    """A JWT whose header and payload are real but whose signature is marked random text."""
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    parts = (json.dumps(header, separators=(",", ":")), json.dumps(claims, separators=(",", ":")))
    # The marker's 9 characters + 43 random ones: 52, a length base64url can decode.
    return ".".join([*(b64url_encode(p.encode()) for p in parts), marked_token("")])
