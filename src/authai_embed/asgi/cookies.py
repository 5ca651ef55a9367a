"""Cookie mode (off by default): the session JWT lives in an HttpOnly cookie, out of JavaScript's
reach. A completed sign-in sets the cookie instead of returning the JWT; the cookie stands in for
a missing bearer header, and a state change it authenticates (and every sign-in step) passes the
CSRF check of `csrf.py`. Its value is the JWT itself, for `whoami` or the in-process clients.
"""

from __future__ import annotations

from collections.abc import Mapping

from authai_embed.asgi.csrf import STATE_CHANGING, is_same_origin_or_allowed
from authai_embed.asgi.errors import CrossSite
from authai_embed.asgi.http import JSONResponse, Request, Response
from authai_embed.settings import Settings

# `is_same_origin_or_allowed` is re-exported for the app's `passes_csrf_check`.
__all__ = ["SESSION_COOKIE_NAME", "CookieMode", "is_same_origin_or_allowed", "read_session_cookie"]

# `__Host-`: the browser only accepts it Secure, with Path=/ and no Domain, so no sibling
# subdomain or plain-http page can plant or overwrite it.
SESSION_COOKIE_NAME = "__Host-authai_session"
_ATTRIBUTES = "Path=/; Secure; HttpOnly; SameSite=Strict"
_MAX_COOKIE_HEADER = 64 * 1024


def read_session_cookie(cookies: str | Mapping[str, str] | None) -> str | None:
    """The session JWT from a `Cookie` header's text, or from a parsed mapping (Django's
    `request.COOKIES`, Starlette's `request.cookies`); `None` when absent or empty."""
    if cookies is None:
        return None
    if not isinstance(cookies, str):
        return cookies.get(SESSION_COOKIE_NAME) or None
    if len(cookies) > _MAX_COOKIE_HEADER:
        return None
    for pair in cookies.split(";"):
        name, sep, value = pair.partition("=")
        if sep and name.strip() == SESSION_COOKIE_NAME:
            # The first one wins: browsers send the most specific cookie first.
            return value.strip().strip('"') or None
    return None


def _cookie_header(request: Request) -> str:
    # HTTP/2 may split cookies over several `cookie` headers; read them all.
    headers: list[tuple[bytes, bytes]] = request.scope["headers"]
    return "; ".join(v.decode("latin-1") for k, v in headers if k.lower() == b"cookie")


class CookieMode:
    """Reads, sets and clears the session cookie and guards cookie-authenticated requests."""

    __slots__ = ("_allowed", "_max_age")

    def __init__(self, *, max_age: int, allowed_origins: tuple[str, ...]) -> None:
        self._max_age = max_age
        self._allowed = frozenset(allowed_origins)

    @classmethod
    def from_settings(cls, settings: Settings) -> CookieMode | None:
        """The cookie mode `settings` ask for, or `None` when it is off."""
        if not settings.session_cookie:
            return None
        return cls(max_age=settings.token_ttl, allowed_origins=settings.allowed_origins)

    def admit(self, request: Request, *, always: bool) -> None:
        """Attach the cookie's session to `request` when it has no bearer header; raise
        `CrossSite` (403) for a cross-site request that is a state change authenticated by the
        cookie or, with `always` (the sign-in steps), any cross-site request."""
        by_cookie = False
        if request.bearer_token() is None:
            request.session_cookie = read_session_cookie(_cookie_header(request))
            by_cookie = request.session_cookie is not None
        guarded = always or (by_cookie and request.method in STATE_CHANGING)
        scheme: str = request.scope.get("scheme", "http")
        if guarded and not is_same_origin_or_allowed(request.headers, scheme, self._allowed):
            raise CrossSite()

    def signed_in(self, jwt: str) -> Response:
        """The completed poll's answer: the cookie set (a fresh JWT each sign-in), no JWT in
        the body."""
        cookie = f"{SESSION_COOKIE_NAME}={jwt}; Max-Age={self._max_age}; {_ATTRIBUTES}"
        return JSONResponse(
            {"status": "complete", "session": "cookie"}, headers=[(b"set-cookie", cookie.encode())]
        )

    def signed_out(self, response: Response) -> Response:
        """`response` with the cookie cleared (a sign-out)."""
        cleared = f"{SESSION_COOKIE_NAME}=; Max-Age=0; {_ATTRIBUTES}"
        response.headers.append((b"set-cookie", cleared.encode()))
        return response
