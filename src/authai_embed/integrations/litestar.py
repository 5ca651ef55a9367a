"""Litestar: mount the `AuthAI` as an ASGI route and inject the signed-in user or an OpenAI
client into handlers by name (`authai_user: NamedDependency[WhoAmI]`,
`authai_openai: NamedDependency[AsyncOpenAI]`).

The session is `Authorization: Bearer <jwt>` or, in cookie mode, the session cookie; a cookie on
a cross-site state change is refused (`403`), any missing or invalid session is `401`.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, asgi
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import ASGIRouteHandler

from authai_embed.asgi.app import AuthAI, WhoAmI
from authai_embed.asgi.csrf import STATE_CHANGING
from authai_embed.errors import Unauthorized

__all__ = ["authai_dependencies", "authai_route"]


def authai_route(authai: AuthAI, path: str = "/authai") -> ASGIRouteHandler:
    """A Litestar route handler serving the mount under `path`: put it in `route_handlers`,
    and `authai.startup`/`authai.shutdown` in `on_startup`/`on_shutdown`."""

    async def serve(scope: Any, receive: Any, send: Any) -> None:
        await authai(scope, receive, send)

    handler: ASGIRouteHandler = asgi(path, is_mount=True, is_static=True, copy_scope=True)(serve)
    return handler


def authai_dependencies(authai: AuthAI) -> dict[str, Provide]:
    """`dependencies=` for the app (or a router, controller or handler): `authai_user` (the
    signed-in `WhoAmI`) and `authai_openai` (an in-process `openai.AsyncOpenAI` for them)."""

    async def session(request: Request[Any, Any, Any]) -> str:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        jwt = (
            authai.session_from_cookies(request.cookies) if authai.settings.session_cookie else None
        )
        if jwt is None:
            raise _unauthorized()
        unsafe = request.method in STATE_CHANGING
        if unsafe and not authai.passes_csrf_check(request.headers, request.url.scheme):
            raise PermissionDeniedException(detail="cross-site request refused")
        return jwt

    async def authai_user(request: Request[Any, Any, Any]) -> WhoAmI:
        try:
            return await authai.whoami(await session(request))
        except Unauthorized:
            raise _unauthorized() from None

    async def authai_openai(request: Request[Any, Any, Any]) -> Any:
        jwt = await session(request)
        try:
            await authai.whoami(jwt)  # a dead session is a 401 here, not an SDK error later
        except Unauthorized:
            raise _unauthorized() from None
        return authai.async_openai_client(jwt)

    return {"authai_user": Provide(authai_user), "authai_openai": Provide(authai_openai)}


def _unauthorized() -> NotAuthorizedException:
    return NotAuthorizedException(detail="unauthorized", headers={"WWW-Authenticate": "Bearer"})
