"""The optional admin routes (ours), under `{mount}/admin/`: only there when the host passes
`admin_guard`. JSON in and out; never a token, a key or a sealed blob.

Every request first passes the cross-site check when it changes something (whatever the
session mode: an admin's browser carries the host's own cookie), then the host's guard, which
returns the admin's name (written to the audit log) or `None` for the uniform 403.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from authai_embed.admin.export import ExportFormat
from authai_embed.admin.kill_switch import Controls
from authai_embed.admin.ops import AdminOps
from authai_embed.asgi.csrf import STATE_CHANGING, is_same_origin_or_allowed
from authai_embed.asgi.errors import CrossSite
from authai_embed.asgi.http import AnyResponse, JSONResponse, Request, Response
from authai_embed.errors import ConfigError, Forbidden, InvalidRequest, NotFound
from authai_embed.stores.base import AuditEntry, Control
from authai_embed.types import Scope

__all__ = ["ADMIN_PREFIX", "USERS_PATH", "AdminGuard", "AdminRoutes"]

AdminGuard = Callable[[Scope], Awaitable[str | None] | str | None]
"""The host's check: the request's ASGI scope in, the admin's name or id out (`None`: 403)."""
ADMIN_PREFIX = "/admin"
USERS_PATH = ADMIN_PREFIX + "/users"
_BODY_LIMIT = 16 * 1024
AdminHandler = Callable[[Request, str], Awaitable[AnyResponse]]


def _time(value: float | None) -> int | None:
    return None if value is None else int(value)


def _control(control: Control) -> dict[str, Any]:
    return {
        "name": control.name,
        "until": _time(control.until),
        "by": control.set_by,
        "at": _time(control.set_at),
    }


def _controls(controls: Controls) -> dict[str, Any]:
    return {"paused": [_control(c) for c in controls.pauses]}


def _entry(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "by": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
    }


def _int(value: str | None, param: str, default: int) -> int:
    if value is None:
        return default
    if not (value.isascii() and value.isdecimal()):
        raise InvalidRequest(f"{param} must be a whole number", param=param)
    return int(value)


class AdminRoutes:
    """`GET /admin/users`, `GET|POST /admin/users/{id}[/revoke]`, `GET /admin/controls`,
    `POST /admin/pause|resume`, `GET /admin/audit`, `GET /admin/usage`."""

    __slots__ = ("_allowed", "_guard", "_ops")

    def __init__(self, ops: AdminOps, guard: AdminGuard, allowed_origins: tuple[str, ...]) -> None:
        if not callable(guard):
            raise ConfigError("admin_guard must be a callable taking the ASGI scope")
        self._ops = ops
        self._guard = guard
        self._allowed = frozenset(allowed_origins)

    def guarded(self, handler: AdminHandler) -> Callable[[Request], Awaitable[AnyResponse]]:
        """`handler` behind the cross-site check and the host's guard; it gets the admin's name."""

        async def run(request: Request) -> AnyResponse:
            scheme: str = request.scope.get("scheme", "http")
            if request.method in STATE_CHANGING and not is_same_origin_or_allowed(
                request.headers, scheme, self._allowed
            ):
                raise CrossSite()
            admin = self._guard(request.scope)
            if inspect.isawaitable(admin):
                admin = await admin
            if not isinstance(admin, str) or not admin:
                raise Forbidden()
            return await handler(request, admin)

        return run

    async def users(self, request: Request, admin: str) -> AnyResponse:
        """The users with a live session, most recently used first (`?limit=`, 1000 at most)."""
        users = await self._ops.users(limit=_int(request.query.get("limit"), "limit", 1000))
        items = [
            {
                "id": u.user_id,
                "provider": u.provider,
                "firstSeen": int(u.first_seen),
                "lastUsed": int(u.last_used),
                "sessions": u.sessions,
            }
            for u in users
        ]
        return JSONResponse({"users": items})

    async def user(self, request: Request, admin: str) -> AnyResponse:
        """One user's sessions, and `usage`/`limits` (`null` until a usage ledger is wired)."""
        detail = await self._ops.user_detail(self._user_id(request, ""))
        sessions = [
            {
                "id": s.session_id,
                "provider": s.provider,
                "created": int(s.created_at),
                "lastUsed": _time(s.last_used_at),
                "label": s.label,
            }
            for s in detail.sessions
        ]
        body = {
            "id": detail.user_id,
            "sessions": sessions,
            "usage": detail.usage,
            "limits": detail.limits,
        }
        return JSONResponse(body)

    async def revoke(self, request: Request, admin: str) -> AnyResponse:
        """`POST /admin/users/{id}/revoke`: end every session of the user."""
        count = await self._ops.revoke(self._user_id(request, "/revoke"), by=admin)
        return JSONResponse({"revoked": count})

    async def controls(self, request: Request, admin: str) -> AnyResponse:
        """The pauses in force."""
        return JSONResponse(_controls(await self._ops.controls()))

    async def pause(self, request: Request, admin: str) -> AnyResponse:
        """`{"signins": true}`, `{"provider": "openai"}` or `{}` (every model call), with an
        optional `"until"` (Unix seconds or ISO 8601)."""
        body = await self._body(request)
        await self._ops.pause(
            by=admin, signins=body["signins"], provider=body["provider"], until=body.get("until")
        )
        return JSONResponse(_controls(await self._ops.controls()))

    async def resume(self, request: Request, admin: str) -> AnyResponse:
        """Lift the pause named as `pause` names it."""
        body = await self._body(request)
        lifted = await self._ops.resume(
            by=admin, signins=body["signins"], provider=body["provider"]
        )
        return JSONResponse({"resumed": lifted, **_controls(await self._ops.controls())})

    async def audit(self, request: Request, admin: str) -> AnyResponse:
        """The audit log (`?since=` Unix seconds or ISO 8601, `?limit=`, default 100)."""
        query = request.query
        limit = _int(query.get("limit"), "limit", 100)
        entries = await self._ops.audit_log(since=query.get("since"), limit=limit)
        return JSONResponse({"entries": [_entry(e) for e in entries]})

    async def usage(self, request: Request, admin: str) -> AnyResponse:
        """The usage export (`?format=csv|json`, `?user=`, `?since=`, `?until=`); 404 when no
        usage ledger is wired."""
        query = request.query
        fmt: ExportFormat = "json" if query.get("format") == "json" else "csv"
        if query.get("format", "csv") not in ("csv", "json"):
            raise InvalidRequest("format must be csv or json", param="format")
        text = await self._ops.export_usage(
            fmt,
            by=admin,
            user_id=query.get("user"),
            since=query.get("since"),
            until=query.get("until"),
        )
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
        return Response(text.encode(), 200, [(b"cache-control", b"no-store")], media)

    @staticmethod
    def _user_id(request: Request, suffix: str) -> str:
        rest = request.path[len(USERS_PATH) + 1 :]
        if suffix:
            if not rest.endswith(suffix):
                raise NotFound("no such admin route")
            rest = rest[: -len(suffix)]
        if not rest or "/" in rest or len(rest) > 200:
            raise NotFound("no such user")
        return rest

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        raw = await request.json(_BODY_LIMIT) if await request.body(_BODY_LIMIT) else {}
        if not isinstance(raw, dict):
            raise InvalidRequest("the body must be a JSON object")
        signins = raw.get("signins", False)
        provider = raw.get("provider")
        if not isinstance(signins, bool):
            raise InvalidRequest("signins must be true or false", param="signins")
        if provider is not None and not isinstance(provider, str):
            raise InvalidRequest("provider must be a provider id", param="provider")
        return {**raw, "signins": signins, "provider": provider}
