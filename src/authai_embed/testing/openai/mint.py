"""What the emulated ChatGPT auth server mints: the ChatGPT claims of its access and id tokens,
refresh tokens, authorization codes and PKCE pairs (the token strings come from `tokens`)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from authai_embed._util.b64 import b64url_encode
from authai_embed.testing.openai.accounts import Account
from authai_embed.testing.tokens import marked_token

__all__ = [
    "AUTH_CLAIM",
    "PROFILE_CLAIM",
    "SCOPE",
    "access_claims",
    "authorization_code",
    "device_auth_id",
    "id_claims",
    "pkce_challenge",
    "pkce_verifier",
    "refresh_token",
]

AUTH_CLAIM = "https://api.openai.com/auth"
PROFILE_CLAIM = "https://api.openai.com/profile"
SCOPE = "openid profile email offline_access"
ACCESS_AUDIENCE = "https://api.openai.com/v1"


def refresh_token() -> str:
    """An opaque refresh token, `rt_` + marker + random text."""
    return marked_token("rt_")


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


def _claims(issuer: str, account: Account, now: int, ttl: int, **fields: Any) -> dict[str, Any]:
    """The claims both tokens carry plus `fields`, in sorted order as the real tokens list them."""
    claims = {
        "email": account.email,
        "exp": now + ttl,
        AUTH_CLAIM: {
            "chatgpt_account_id": account.account_id,
            "chatgpt_account_is_fedramp": account.fedramp,
            "chatgpt_plan_type": account.plan,
            "chatgpt_user_id": account.user_id,
            "user_id": account.user_id,
        },
        PROFILE_CLAIM: {"email": account.email, "email_verified": True},
        "iat": now,
        "iss": issuer,
        "jti": secrets.token_hex(16),
        "sub": account.user_id,
        **fields,
    }
    return dict(sorted(claims.items()))


def access_claims(
    *, issuer: str, client_id: str, account: Account, now: int, ttl: int, session_id: str
) -> dict[str, Any]:
    """The access token's claims, shaped like the Codex access tokens seen in the wild."""
    return _claims(
        issuer,
        account,
        now,
        ttl,
        aud=[ACCESS_AUDIENCE],
        client_id=client_id,
        nbf=now,
        scp=SCOPE.split(),
        session_id=session_id,
    )


def id_claims(
    *, issuer: str, client_id: str, account: Account, now: int, ttl: int, session_id: str
) -> dict[str, Any]:
    """The id_token's claims; it carries `chatgpt_account_id` like the access token."""
    return _claims(
        issuer,
        account,
        now,
        ttl,
        aud=[client_id],
        auth_time=now,
        email_verified=True,
        sid=session_id,
    )
