"""CORS for the mount: an explicit allowlist echoed exactly, never `*`.

The mount is normally same-origin with the host app and needs no CORS at all. A cross-origin
caller must be listed in `allowed_origins`; its origin is echoed with `Vary: Origin`.
"""

from __future__ import annotations

from collections.abc import Mapping

from authai_embed.asgi.errors import origin_not_allowed
from authai_embed.asgi.http import Response

__all__ = ["ALLOWED_HEADERS", "Cors"]

ALLOWED_HEADERS = b"Content-Type, Authorization, x-authai-secret, x-authai-publishable-key"
_ALLOWED_METHODS = b"GET, POST, OPTIONS"
_EXPOSED = b"Retry-After"


class Cors:
    """Decides the CORS headers of each answer."""

    __slots__ = ("_credentials", "_origins")

    def __init__(self, allowed_origins: tuple[str, ...], *, credentials: bool = False) -> None:
        self._origins = frozenset(allowed_origins)
        # Cookie mode: a listed origin may send the session cookie (`credentials: "include"`).
        self._credentials = [(b"access-control-allow-credentials", b"true")] if credentials else []

    def is_preflight(self, method: str, headers: Mapping[str, str]) -> bool:
        """An `OPTIONS` request carrying `Access-Control-Request-Method`."""
        return method == "OPTIONS" and "access-control-request-method" in headers

    def allowed(self, origin: str | None) -> bool:
        """Whether `origin` is on the allowlist (exact match)."""
        return origin is not None and origin in self._origins

    def response_headers(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        """Headers for an actual (non-preflight) answer."""
        if not self.allowed(origin):
            return [(b"vary", b"Origin")] if self._origins else []
        assert origin is not None
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-expose-headers", _EXPOSED),
            (b"vary", b"Origin"),
            *self._credentials,
        ]

    def preflight(self, origin: str | None) -> Response:
        """The answer to a preflight: `204` with the CORS headers, `403` for an unlisted origin."""
        if not self.allowed(origin):
            return origin_not_allowed()
        return Response(b"", 204, self.preflight_headers(origin))

    def preflight_headers(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        """Headers for a `204` preflight answer to an allowed origin."""
        return [
            *self.response_headers(origin),
            (b"access-control-allow-methods", _ALLOWED_METHODS),
            (b"access-control-allow-headers", ALLOWED_HEADERS),
            (b"access-control-max-age", b"600"),
        ]
