"""Mounting on Starlette and FastAPI: `app.mount(path, authai)` plus the lifespan wiring.

Starlette does not run the lifespan of mounted apps, so the host's lifespan is wrapped: the store
opens before the host's own startup and closes after its shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from authai_embed.asgi.app import AuthAI
from authai_embed.errors import ConfigError

__all__ = ["StarletteLike", "is_starlette_like", "mount_on_starlette"]

_AUTH_NAMES = ("AuthAIBackend", "AuthAIUser")


def __getattr__(name: str) -> Any:
    """`AuthAIBackend` and `AuthAIUser` from here too, imported on first use: `mount_authai`
    imports this module for every host, Starlette or not (see `starlette_auth`)."""
    if name in _AUTH_NAMES:
        import authai_embed.integrations.starlette_auth as auth

        return getattr(auth, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Router(Protocol):
    lifespan_context: Callable[[Any], AbstractAsyncContextManager[Any]]
    routes: list[Any]


class StarletteLike(Protocol):
    """What we use of a Starlette or FastAPI application."""

    router: _Router

    def mount(self, path: str, app: Any, name: str | None = None) -> None: ...


def is_starlette_like(app: object) -> bool:
    """Whether `app` can take a mount and has a router with a lifespan context."""
    router = getattr(app, "router", None)
    return callable(getattr(app, "mount", None)) and hasattr(router, "lifespan_context")


def mount_on_starlette(app: StarletteLike, authai: AuthAI, path: str) -> None:
    """Mount `authai` at `path` and fold its startup/shutdown into the app's lifespan.

    Raises `ConfigError` when the app already routes `path`: Starlette would keep the first
    and never reach this one."""
    taken = [r for r in app.router.routes if getattr(r, "path", None) == path]
    if taken:
        what = "authai_embed" if isinstance(getattr(taken[0], "app", None), AuthAI) else "a route"
        raise ConfigError(
            f"{what} is already mounted at {path!r} on this app, and the first one would answer"
            " every request there: call mount_authai once per app, or give another path="
        )
    app.mount(path, authai, name="authai")
    original = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(host: Any) -> AsyncIterator[Any]:
        async with authai.lifespan(), original(host) as state:
            yield state

    app.router.lifespan_context = lifespan
