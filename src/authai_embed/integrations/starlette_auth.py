"""Starlette's `AuthenticationMiddleware` backed by the mount: `request.user` is the signed-in
user and `request.auth.scopes` holds `"authenticated"`, so `@requires("authenticated")` works.

A module of its own (not `starlette.py`): `mount_authai` imports that one for every host, and
Starlette is not a dependency of the core.
"""

from __future__ import annotations

from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.requests import HTTPConnection

from authai_embed.asgi.app import AuthAI, WhoAmI
from authai_embed.asgi.csrf import STATE_CHANGING
from authai_embed.errors import Unauthorized

__all__ = ["AuthAIBackend", "AuthAIUser"]


class AuthAIUser(BaseUser):
    """`request.user` for a signed-in user: `who` is the `WhoAmI`, `jwt` the session (pass it
    to `authai.async_openai_client`); the JWT is kept out of `repr`."""

    __slots__ = ("jwt", "who")

    def __init__(self, who: WhoAmI, jwt: str) -> None:
        self.who = who
        self.jwt = jwt

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.who.provider

    @property
    def identity(self) -> str:
        return self.who.user_id

    def __repr__(self) -> str:
        return f"AuthAIUser(user_id={self.who.user_id!r}, provider={self.who.provider!r})"


class AuthAIBackend(AuthenticationBackend):
    """Authenticates by `Authorization: Bearer <jwt>` or, in cookie mode, the session cookie.

    No session, an invalid one, or a cookie on a cross-site state change (`POST` from another
    site) leaves the request anonymous (`request.user.is_authenticated` is false): the host's
    `@requires` or its own check then answers, as for any other anonymous request.
    """

    def __init__(self, authai: AuthAI) -> None:
        self._authai = authai

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        jwt = _bearer(conn.headers.get("authorization"))
        if jwt is None and self._authai.settings.session_cookie:
            jwt = self._authai.session_from_cookies(conn.cookies)
            method = conn.scope.get("method", "GET")
            scheme = conn.url.scheme
            if method in STATE_CHANGING and not self._authai.passes_csrf_check(
                conn.headers, scheme
            ):
                return None
        if jwt is None:
            return None
        try:
            who = await self._authai.whoami(jwt)
        except Unauthorized:
            return None
        scopes = ["authenticated", f"authai:{who.provider}"]
        return AuthCredentials(scopes), AuthAIUser(who, jwt)


def _bearer(header: str | None) -> str | None:
    scheme, _, token = (header or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
