"""`mount_authai`: the one line a host app writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from authai_embed.asgi.admin_routes import AdminGuard
from authai_embed.asgi.app import AuthAI
from authai_embed.asgi.limits import Limits, StartGuard
from authai_embed.errors import ConfigError
from authai_embed.events import EventHandler
from authai_embed.integrations.starlette import is_starlette_like, mount_on_starlette
from authai_embed.settings import Secrets
from authai_embed.stores.base import AuthStore
from authai_embed.types import ASGIApp
from authai_embed.usage.quotas import Quotas

__all__ = ["mount_authai"]


def mount_authai(
    app: Any,
    *,
    secrets: Secrets | None = None,
    store: AuthStore | None = None,
    path: str = "/authai",
    limits: Limits | None = None,
    start_guard: StartGuard | None = None,
    admin_guard: AdminGuard | None = None,
    quotas: Quotas | None = None,
    on_event: EventHandler | Sequence[EventHandler] | None = None,
    **settings: Any,
) -> AuthAI:
    """Give `app` the authai_embed routes at `path` and return the `AuthAI` object.

    - FastAPI / Starlette: mounted in place (`app.mount`) with the lifespan wired; keep serving
      `app`.
    - Any other ASGI app (Django's `get_asgi_application()`, ...): the returned `AuthAI` wraps it
      and IS the application to serve: `application = mount_authai(django_app, ...)`.

    `settings` are `Settings` fields (`originator=`, `allowed_origins=`, ...); each one not given
    comes from its `AUTH_AI_*` variable, else its default, and `secrets` from
    `Secrets.from_env()` when not given (docs/configuration.md). `limits` and
    `start_guard` are the abuse controls (see `Limits`; by default in-memory rate limits and
    anyone may start a sign-in); `quotas` the per-user limits (see `Quotas`; off by default).
    `admin_guard` turns the admin routes on (docs/admin.md). `on_event`: async handler(s) of
    the mount's events (docs/events.md). Raises `ConfigError` for bad settings or secrets.
    """
    if not path.startswith("/") or path.endswith("/") or len(path) < 2:
        raise ConfigError("path must start with '/' and not end with it, e.g. '/authai'")
    authai = AuthAI(
        secrets=secrets,
        store=store,
        limits=limits,
        start_guard=start_guard,
        admin_guard=admin_guard,
        quotas=quotas,
        on_event=on_event,
        **settings,
    )
    if is_starlette_like(app):
        mount_on_starlette(app, authai, path)
        return authai
    if not callable(app):
        raise ConfigError("mount_authai needs an ASGI application (FastAPI, Starlette, Django...)")
    asgi_app: ASGIApp = app
    return authai.wrap(asgi_app, path)
