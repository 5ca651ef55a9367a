"""Minting the emulator's tokens: JWT-shaped access and id tokens, refresh tokens, PKCE codes.

Access and id tokens look like the real ones (RS256 header, the ChatGPT claims) but their
signature segment is random base64url text that starts with `TOKEN_MARKER`. The marker is in
every access, id and refresh token string verbatim, so a test can prove that no token leaked into
a log, a response or a database file by searching for it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from authai_embed._util.b64 import b64url_encode
from authai_embed.testing.openai.accounts import Account

__all__ = [
    "AUTH_CLAIM",
    "PROFILE_CLAIM",
    "SCOPE",
    "TOKEN_MARKER",
    "access_claims",
    "authorization_code",
    "device_auth_id",
    "id_claims",
    "jwt_shaped",
    "new_kid",
    "pkce_challenge",
    "pkce_verifier",
    "refresh_token",
]

TOKEN_MARKER = "EMUSECRET"
"""Literal text in every token the emulator issues (base64url-safe: JWTs stay well-formed)."""

AUTH_CLAIM = "https://api.openai.com/auth"
PROFILE_CLAIM = "https://api.openai.com/profile"
SCOPE = "openid profile email offline_access"
ACCESS_AUDIENCE = "https://api.openai.com/v1"


def new_kid() -> str:
    """A key id for the JWT header; one per emulator, like a real issuer's signing key."""
    return f"emulator-{secrets.token_hex(8)}"


def _signature() -> str:
    # 9 marker chars + 43 from token_urlsafe(32) = 52 chars: a length base64url can decode.
    return TOKEN_MARKER + secrets.token_urlsafe(32)


def jwt_shaped(claims: dict[str, Any], kid: str) -> str:
    """A JWT whose header and payload are real but whose signature is the marked random text."""
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    parts = (json.dumps(header, separators=(",", ":")), json.dumps(claims, separators=(",", ":")))
    return ".".join([*(b64url_encode(p.encode()) for p in parts), _signature()])


def refresh_token() -> str:
    """An opaque refresh token, `rt_` + marker + random text."""
    return f"rt_{TOKEN_MARKER}{secrets.token_urlsafe(32)}"


def authorization_code() -> str:
    """An opaque, single-use authorization code (not a token: it carries no marker)."""
    return f"ac_{secrets.token_urlsafe(32)}"


def device_auth_id() -> str:
    """The id the device polls with; never shown to the person."""
    return f"deviceauth_{secrets.token_urlsafe(24)}"


def pkce_verifier() -> str:
    """A PKCE code verifier (RFC 7636: 43 to 128 unreserved characters)."""
    return secrets.token_urlsafe(64)


def pkce_challenge(verifier: str) -> str:
    """The S256 challenge of `verifier`: base64url without padding of its SHA-256."""
    return b64url_encode(hashlib.sha256(verifier.encode("utf-8")).digest())


def _auth_claim(account: Account) -> dict[str, Any]:
    return {
        "chatgpt_account_id": account.account_id,
        "chatgpt_plan_type": account.plan,
        "chatgpt_user_id": account.user_id,
        "user_id": account.user_id,
    }


def access_claims(
    *, issuer: str, client_id: str, account: Account, now: int, ttl: int, session_id: str
) -> dict[str, Any]:
    """The access token's claims, shaped like the Codex access tokens seen in the wild."""
    return {
        "aud": [ACCESS_AUDIENCE],
        "client_id": client_id,
        "email": account.email,
        "exp": now + ttl,
        AUTH_CLAIM: _auth_claim(account),
        PROFILE_CLAIM: {"email": account.email, "email_verified": True},
        "iat": now,
        "iss": issuer,
        "jti": secrets.token_hex(16),
        "nbf": now,
        "scp": SCOPE.split(),
        "session_id": session_id,
        "sub": account.user_id,
    }


def id_claims(
    *, issuer: str, client_id: str, account: Account, now: int, ttl: int, session_id: str
) -> dict[str, Any]:
    """The id_token's claims; it carries `chatgpt_account_id` like the access token."""
    return {
        "aud": [client_id],
        "auth_time": now,
        "email": account.email,
        "email_verified": True,
        "exp": now + ttl,
        AUTH_CLAIM: _auth_claim(account),
        PROFILE_CLAIM: {"email": account.email, "email_verified": True},
        "iat": now,
        "iss": issuer,
        "jti": secrets.token_hex(16),
        "sid": session_id,
        "sub": account.user_id,
    }
