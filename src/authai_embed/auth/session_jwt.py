"""Session JWTs: HS256 only, with a key id so signing keys can rotate.

The JWT carries the record id and the record's AES key (claim `k`), so the server can decrypt the
user's tokens only while the user presents it. Every verification failure is the same
`Unauthorized`. docs/security.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import jwt

from authai_embed._util.b64 import b64url_decode, b64url_encode
from authai_embed._util.clock import Clock
from authai_embed.auth.vault import KEY_BYTES
from authai_embed.errors import Unauthorized
from authai_embed.settings import Secrets

__all__ = ["MAX_JWT_LENGTH", "SessionClaims", "SessionSigner"]

MAX_JWT_LENGTH = 4096
_ALGORITHM = "HS256"
_VERSION = 2
_REQUIRED = ("v", "rid", "k", "prov", "iat", "exp")
_CACHE_SIZE = 4096
_MAX_KID = 32  # the longest id `Secrets` accepts


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """What a verified session JWT says."""

    record_id: str
    key: bytes = field(repr=False)
    provider: str
    issued_at: int
    expires_at: int
    app_id: str | None = None


class SessionSigner:
    """Issues and verifies session JWTs for one `AuthAI` instance."""

    __slots__ = ("_clock", "_keys", "_leeway", "_secrets", "_ttl", "_verified")

    def __init__(self, secrets: Secrets, *, ttl: int, leeway: int, clock: Clock) -> None:
        self._secrets = secrets
        self._keys = {k.kid: k.secret for k in secrets.jwt_keys}
        self._ttl = ttl
        self._leeway = leeway
        self._clock = clock
        # Signature checks already passed, by token string: claims of a given token never change
        # (revocation is checked at the record, not here). Bounded, oldest out first.
        self._verified: dict[str, SessionClaims] = {}

    def issue(
        self, *, record_id: str, key: bytes, provider: str, app_id: str | None = None
    ) -> tuple[str, int]:
        """Sign a new session; return the JWT and its `exp` (Unix seconds)."""
        now = int(self._clock.now())
        exp = now + self._ttl
        claims: dict[str, Any] = {
            "v": _VERSION,
            "rid": record_id,
            "k": b64url_encode(key),
            "prov": provider,
            "iat": now,
            "exp": exp,
        }
        if app_id is not None:
            claims["app"] = app_id
        signing = self._secrets.signing_key
        token = jwt.encode(
            claims, signing.secret, algorithm=_ALGORITHM, headers={"kid": signing.kid}
        )
        return token, exp

    def verify(self, token: str) -> SessionClaims:
        """Return the claims of a valid session JWT; raise `Unauthorized` for anything else.

        Verified here rather than by a general JWT library: only HS256 exists for us, so the
        algorithm is pinned by construction, and the hot path stays a few microseconds.
        """
        cached = self._verified.get(token)
        if cached is not None:
            self._check_time(cached.issued_at, cached.expires_at)
            return cached
        if not token or len(token) > MAX_JWT_LENGTH or not token.isascii() or token.count(".") != 2:
            raise Unauthorized()
        header_b64, payload_b64, signature_b64 = token.split(".")
        try:
            header = json.loads(b64url_decode(header_b64))
            signature = b64url_decode(signature_b64)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise Unauthorized() from None
        if not isinstance(header, dict) or header.get("alg") != _ALGORITHM:
            raise Unauthorized()
        kid = header.get("kid")
        # Our key ids are short ASCII; anything else (a lone surrogate cannot even be encoded)
        # is refused before the lookup, like any unknown id.
        if not isinstance(kid, str) or not kid.isascii() or len(kid) > _MAX_KID:
            raise Unauthorized()
        secret = self._lookup(kid)
        signing_input = token[: len(header_b64) + 1 + len(payload_b64)].encode("ascii")
        expected = hmac.new(secret, signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            raise Unauthorized()
        try:
            claims = json.loads(b64url_decode(payload_b64))
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise Unauthorized() from None
        if not isinstance(claims, dict) or any(name not in claims for name in _REQUIRED):
            raise Unauthorized()
        verified = self._check_claims(claims)
        if len(self._verified) >= _CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = verified
        return verified

    def _lookup(self, kid: str) -> bytes:
        # Constant-time comparison over every key id, so timing does not reveal which ids exist.
        found: bytes | None = None
        for known, secret in self._keys.items():
            if hmac.compare_digest(known.encode(), kid.encode()):
                found = secret
        if found is None:
            raise Unauthorized()
        return found

    def _check_time(self, iat: int, exp: int) -> None:
        now = self._clock.now()
        if exp <= now - self._leeway or iat > now + self._leeway:
            raise Unauthorized()

    def _check_claims(self, claims: dict[str, Any]) -> SessionClaims:
        exp, iat = claims["exp"], claims["iat"]
        rid, prov, k, app = claims["rid"], claims["prov"], claims["k"], claims.get("app")
        if (
            claims["v"] != _VERSION
            or not isinstance(exp, int)
            or not isinstance(iat, int)
            or isinstance(exp, bool)
            or isinstance(iat, bool)
            or not isinstance(rid, str)
            or not isinstance(prov, str)
            or not isinstance(k, str)
            or not (app is None or isinstance(app, str))
        ):
            raise Unauthorized()
        self._check_time(iat, exp)
        try:
            key = b64url_decode(k)
        except ValueError:
            raise Unauthorized() from None
        if len(key) != KEY_BYTES:
            raise Unauthorized()
        return SessionClaims(
            record_id=rid, key=key, provider=prov, issued_at=iat, expires_at=exp, app_id=app
        )
