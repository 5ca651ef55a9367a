"""FastAPI dependencies: `authai.current_user` (the signed-in `WhoAmI`) and `authai.openai` (an
`AsyncOpenAI` for the request's user), so a route never parses a header or catches `Unauthorized`.

The session comes from `Authorization: Bearer <jwt>` or, in cookie mode, from the session cookie;
the security schemes sit in the dependencies' signatures, so the host's OpenAPI page shows them
and its "Authorize" button works. A cookie-authenticated state change must pass the mount's
cross-site check (`403` otherwise): a bearer header cannot be forged by another site, a cookie
can be sent by one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from authai_embed.asgi.app import AuthAI, WhoAmI
from authai_embed.asgi.cookies import SESSION_COOKIE_NAME
from authai_embed.asgi.csrf import STATE_CHANGING
from authai_embed.errors import Unauthorized

if TYPE_CHECKING:
    import openai

__all__ = ["FastAPIDependencies"]

_BEARER = HTTPBearer(auto_error=False, description="The session JWT from the sign-in.")
_COOKIE = APIKeyCookie(
    name=SESSION_COOKIE_NAME, auto_error=False, description="Cookie mode's session cookie."
)


def _unauthorized() -> HTTPException:
    # One answer for every cause (no token, bad signature, expired, revoked...).
    return HTTPException(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})


class FastAPIDependencies:
    """The dependency callables of one `AuthAI` (made once, so FastAPI caches each per request)."""

    __slots__ = ("current_user", "openai", "session_jwt")

    def __init__(self, authai: AuthAI) -> None:
        cookie_mode = authai.settings.session_cookie

        def from_request(request: Request, bearer: HTTPAuthorizationCredentials | None) -> str:
            if bearer is not None and bearer.credentials:
                return bearer.credentials
            jwt = authai.session_from_cookies(request.cookies) if cookie_mode else None
            if jwt is None:
                raise _unauthorized()
            scheme = request.url.scheme
            unsafe = request.method in STATE_CHANGING
            if unsafe and not authai.passes_csrf_check(request.headers, scheme):
                raise HTTPException(403, "cross-site request refused")
            return jwt

        if cookie_mode:

            async def session_jwt(
                request: Request,
                bearer: HTTPAuthorizationCredentials | None = Depends(_BEARER),  # noqa: B008
                cookie: str | None = Depends(_COOKIE),  # declared for OpenAPI; read below
            ) -> str:
                """The request's session JWT (bearer header, or the cookie); 401 without one."""
                return from_request(request, bearer)

        else:

            async def session_jwt(  # type: ignore[misc]  # the same, without the cookie scheme
                request: Request,
                bearer: HTTPAuthorizationCredentials | None = Depends(_BEARER),  # noqa: B008
            ) -> str:
                """The request's session JWT (bearer header); 401 without one."""
                return from_request(request, bearer)

        async def current_user(jwt: str = Depends(session_jwt)) -> WhoAmI:
            """The signed-in user; 401 for any invalid session. Never calls the provider."""
            try:
                return await authai.whoami(jwt)
            except Unauthorized:
                raise _unauthorized() from None

        async def openai_client(
            jwt: str = Depends(session_jwt),
            user: WhoAmI = Depends(current_user),  # noqa: B008
        ) -> openai.AsyncOpenAI:
            """An in-process `AsyncOpenAI` for the signed-in user (checked first: 401)."""
            return authai.async_openai_client(jwt)

        self.session_jwt: Callable[..., Awaitable[str]] = session_jwt
        self.current_user: Callable[..., Awaitable[WhoAmI]] = current_user
        self.openai: Callable[..., Awaitable[Any]] = openai_client
