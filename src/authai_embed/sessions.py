"""Session JWTs: HS256 only, with a key id so signing keys can rotate.

The JWT carries the record id and the record's AES key (claim `k`), so the server can decrypt the
user's tokens only while the user presents it. Verification pins HS256, requires every claim, and
checks `exp` against the injected clock; every failure is the same `Unauthorized`.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import jwt

from ._b64 import b64url_decode, b64url_encode
from .clock import Clock
from .errors import Unauthorized
from .settings import Secrets
from .vault import KEY_BYTES

__all__ = ["MAX_JWT_LENGTH", "SessionClaims", "SessionSigner"]

MAX_JWT_LENGTH = 4096
_ALGORITHM = "HS256"
_VERSION = 2
_REQUIRED = ("v", "rid", "k", "prov", "iat", "exp")


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """What a verified session JWT says."""

    record_id: str
    key: bytes
    provider: str
    issued_at: int
    expires_at: int
    app_id: str | None = None


class SessionSigner:
    """Issues and verifies session JWTs for one `AuthAI` instance."""

    __slots__ = ("_clock", "_keys", "_leeway", "_secrets", "_ttl")

    def __init__(self, secrets: Secrets, *, ttl: int, leeway: int, clock: Clock) -> None:
        self._secrets = secrets
        self._keys = {k.kid: k.secret for k in secrets.jwt_keys}
        self._ttl = ttl
        self._leeway = leeway
        self._clock = clock

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
        """Return the claims of a valid session JWT; raise `Unauthorized` for anything else."""
        if not token or len(token) > MAX_JWT_LENGTH:
            raise Unauthorized()
        try:
            header = jwt.get_unverified_header(token)
            kid = header.get("kid")
            if header.get("alg") != _ALGORITHM or not isinstance(kid, str):
                raise Unauthorized()
            secret = self._lookup(kid)
            claims = jwt.decode(
                token,
                secret,
                algorithms=[_ALGORITHM],
                options={"require": list(_REQUIRED), "verify_exp": False, "verify_iat": False},
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            raise Unauthorized() from None
        return self._check_claims(claims)

    def _lookup(self, kid: str) -> bytes:
        # Constant-time comparison over every key id, so timing does not reveal which ids exist.
        found: bytes | None = None
        for known, secret in self._keys.items():
            if hmac.compare_digest(known.encode(), kid.encode()):
                found = secret
        if found is None:
            raise Unauthorized()
        return found

    def _check_claims(self, claims: dict[str, Any]) -> SessionClaims:
        now = self._clock.now()
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
        if exp <= now - self._leeway or iat > now + self._leeway:
            raise Unauthorized()
        try:
            key = b64url_decode(k)
        except ValueError:
            raise Unauthorized() from None
        if len(key) != KEY_BYTES:
            raise Unauthorized()
        return SessionClaims(
            record_id=rid, key=key, provider=prov, issued_at=iat, expires_at=exp, app_id=app
        )
