"""`AuthAIMiddleware`: `request.authai_user`, resolved lazily, for sync and async views.

The session is the request's `Authorization: Bearer <jwt>` or, in cookie mode, the session
cookie. A cookie on a cross-site state change does not count (a bearer header cannot be sent by
another site; a cookie can). Resolving asks the store once per request, never the provider.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import SimpleLazyObject
from django.utils.module_loading import import_string

from authai_embed.asgi.app import AuthAI, WhoAmI
from authai_embed.asgi.csrf import STATE_CHANGING
from authai_embed.errors import Unauthorized

__all__ = ["AuthAIMiddleware", "Resolved", "get_authai", "resolve", "resolve_sync", "session_of"]

_CACHE = "_authai_resolved"


def get_authai() -> AuthAI:
    """The `AuthAI` that `settings.AUTHAI_INSTANCE` names (`"mysite.authai.authai"`)."""
    path = getattr(settings, "AUTHAI_INSTANCE", None)
    if not path:
        raise ImproperlyConfigured('set AUTHAI_INSTANCE = "<module>.<name>" of your AuthAI')
    authai = import_string(path)
    if not isinstance(authai, AuthAI):
        raise ImproperlyConfigured(f"AUTHAI_INSTANCE names a {type(authai).__name__}")
    return authai


def session_of(request: Any, authai: AuthAI) -> tuple[str | None, bool]:
    """The request's session JWT and whether it came from the cookie."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), False
    if authai.settings.session_cookie:
        jwt = authai.session_from_cookies(request.COOKIES)
        return jwt, jwt is not None
    return None, False


@dataclass(frozen=True, slots=True)
class Resolved:
    """Who a request is: the user (or `None`), its JWT, and whether a cookie was refused as a
    cross-site state change."""

    user: WhoAmI | None
    jwt: str | None = None
    cross_site: bool = False


async def resolve(request: Any) -> Resolved:
    """Who `request` is, asked once per request (the answer is kept on the request)."""
    cached: Resolved | None = getattr(request, _CACHE, None)
    if cached is not None:
        return cached
    authai = get_authai()
    jwt, by_cookie = session_of(request, authai)
    resolved = Resolved(None)
    if jwt is not None:
        unsafe = request.method in STATE_CHANGING
        if by_cookie and unsafe and not authai.passes_csrf_check(request.headers, request.scheme):
            resolved = Resolved(None, cross_site=True)
        else:
            with contextlib.suppress(Unauthorized):  # any invalid session: nobody
                resolved = Resolved(await authai.whoami(jwt), jwt)
    setattr(request, _CACHE, resolved)
    return resolved


def resolve_sync(request: Any) -> Resolved:
    """`resolve` from sync code (a sync view, in Django's worker thread under ASGI)."""
    cached: Resolved | None = getattr(request, _CACHE, None)
    if cached is not None:
        return cached
    try:
        return async_to_sync(resolve)(request)
    except RuntimeError as exc:
        if "event loop" not in str(exc):
            raise
        raise RuntimeError(
            "request.authai_user is for sync views; in an async view use "
            "`await request.authai_auser()` or @authai_required"
        ) from None


class AuthAIMiddleware:
    """Sets `request.authai_user` (a lazy `WhoAmI`, falsy when nobody is signed in: test it
    with `if request.authai_user:`) and `request.authai_auser()` (await it in async views:
    `WhoAmI | None`). Works in sync and async middleware chains."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self._async:
            return self._acall(request)
        _attach(request)
        return self.get_response(request)

    async def _acall(self, request: Any) -> Any:
        _attach(request)
        return await self.get_response(request)


def _attach(request: Any) -> None:
    async def auser() -> WhoAmI | None:
        return (await resolve(request)).user

    request.authai_user = SimpleLazyObject(lambda: resolve_sync(request).user)
    request.authai_auser = auser
