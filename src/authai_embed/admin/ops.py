"""Admin operations: pause and resume, users and their sessions, revoking, exports, the audit.

Every action that changes something (pause, resume, revoke) or takes data out (export) is
written to the store's audit log: who, what, on what, when. `usage_source`/`limits_source` are
the seams through which a usage ledger and plan limits fill a user's detail and the export;
until a host or a later release sets them, those fields are `None` and an export is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from authai_embed._util.clock import Clock
from authai_embed.admin.export import ExportFormat, export_rows
from authai_embed.admin.kill_switch import Controls, KillSwitch, control_name
from authai_embed.auth.account_sessions import AccountSessions, SessionInfo
from authai_embed.errors import InvalidRequest, NotFound
from authai_embed.settings import Settings
from authai_embed.stores.base import AuditEntry, AuthStore, Control, UserSummary

__all__ = ["AdminOps", "UsageSource", "UserDetail", "UserLimitsSource", "check_actor", "parse_time"]

UsageSource = Callable[
    [str | None, float | None, float | None], Awaitable[Sequence[Mapping[str, Any]]]
]
"""`(user_id or None for everyone, since, until) -> usage rows` (one mapping per row)."""
UserLimitsSource = Callable[[str], Awaitable[Mapping[str, Any] | None]]
"""`user_id -> that user's plan limits`, or `None` when unknown."""
MAX_ACTOR = 200


@dataclass(frozen=True, slots=True)
class UserDetail:
    """One user for an admin: their live sessions, and their `usage` and `limits` when a usage
    ledger is wired (`None` otherwise: never made up)."""

    user_id: str
    sessions: list[SessionInfo]
    usage: list[dict[str, Any]] | None = None
    limits: dict[str, Any] | None = None


def check_actor(actor: str) -> str:
    """An admin's name as the audit log keeps it: 1 to 200 printable characters."""
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidRequest("the admin's name must be a non-empty string", param="by")
    actor = actor.strip()
    if len(actor) > MAX_ACTOR or not actor.isprintable():
        raise InvalidRequest(f"the admin's name must be at most {MAX_ACTOR} printable characters")
    return actor


def parse_time(value: float | str | datetime | None, param: str) -> float | None:
    """A time given as Unix seconds (a number, or its digits as text), an ISO 8601 text (no
    zone: UTC) or a `datetime`; `InvalidRequest` naming `param` for anything else."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        digits = text.replace(".", "", 1)
        if digits.isascii() and digits.isdecimal():
            return float(text)
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequest(f"{param} must be an ISO 8601 time", param=param) from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    raise InvalidRequest(f"{param} must be a time", param=param)


class AdminOps:
    """The operations behind `AuthAI.pause`/`resume`/`controls`/`list_users`/`user_detail`/
    `audit_log`/`export_usage`, the CLI and the admin routes. `accounts` is needed only to show
    and end sessions (the CLI's store-only commands go without it)."""

    def __init__(
        self,
        *,
        store: AuthStore,
        settings: Settings,
        clock: Clock,
        kill_switch: KillSwitch,
        accounts: AccountSessions | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._tenant = settings.app_id
        self.kill_switch = kill_switch
        self.accounts = accounts
        self.usage_source: UsageSource | None = None
        self.limits_source: UserLimitsSource | None = None

    async def audit(self, actor: str, action: str, target: str, detail: str | None = None) -> None:
        """Write one entry to the audit log."""
        entry = AuditEntry(self._clock.now(), check_actor(actor), action, target, detail)
        await self._store.add_audit(self._tenant, entry)

    async def audit_log(
        self, *, since: float | str | datetime | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """The audit entries since `since` (default: all), oldest first, the newest `limit`."""
        start = parse_time(since, "since")
        if not 1 <= limit <= 10_000:
            raise InvalidRequest("limit must be between 1 and 10000", param="limit")
        return await self._store.list_audit(
            self._tenant, since=start if start is not None else 0.0, limit=limit
        )

    async def pause(
        self,
        *,
        by: str,
        signins: bool = False,
        provider: str | None = None,
        until: float | str | datetime | None = None,
    ) -> Control:
        """Pause new sign-ins, one provider's model calls, or (neither) every model call, until
        resumed or until `until`; audited."""
        name = control_name(signins=signins, provider=provider)
        actor = check_actor(by)
        now = self._clock.now()
        end = parse_time(until, "until")
        if end is not None and end <= now:
            raise InvalidRequest("until must be in the future", param="until")
        control = Control(name, end, actor, now)
        await self._store.put_control(self._tenant, control)
        self.kill_switch.forget()
        detail = None if end is None else "until " + datetime.fromtimestamp(end, UTC).isoformat()
        await self.audit(actor, "pause", name, detail)
        return control

    async def resume(self, *, by: str, signins: bool = False, provider: str | None = None) -> bool:
        """Lift the pause `pause` set with the same arguments; return whether it was set.
        Audited either way."""
        name = control_name(signins=signins, provider=provider)
        actor = check_actor(by)
        lifted = await self._store.delete_control(self._tenant, name)
        self.kill_switch.forget()
        await self.audit(actor, "resume", name, None if lifted else "was not paused")
        return lifted

    async def controls(self) -> Controls:
        """The pauses in force now, read from the store (not the cache)."""
        return await self.kill_switch.current(fresh=True)

    async def users(self, *, limit: int = 1000) -> list[UserSummary]:
        """The users with a live session, most recently used first, at most `limit`."""
        if not 1 <= limit <= 100_000:
            raise InvalidRequest("limit must be between 1 and 100000", param="limit")
        lifetime = self._settings.token_ttl + self._settings.jwt_leeway
        return await self._store.list_users(
            self._tenant, created_after=self._clock.now() - lifetime, limit=limit
        )

    async def user_detail(self, user_id: str) -> UserDetail:
        """A user's live sessions, and usage and limits when their seams are wired."""
        sessions = await self._accounts().describe(user_id)
        usage = limits = None
        if self.usage_source is not None:
            usage = [dict(row) for row in await self.usage_source(user_id, None, None)]
        if self.limits_source is not None:
            found = await self.limits_source(user_id)
            limits = None if found is None else dict(found)
        return UserDetail(user_id, sessions, usage, limits)

    async def revoke(self, user_id: str, *, by: str) -> int:
        """End every session of `user_id` (each JWT fails at once, in every process); audited.
        Return how many there were."""
        actor = check_actor(by)
        count = await self._accounts().end_all(user_id, reason="admin")
        await self.audit(actor, "revoke", user_id, f"{count} sessions")
        return count

    async def export_usage(
        self,
        fmt: ExportFormat = "csv",
        *,
        by: str,
        user_id: str | None = None,
        since: float | str | None = None,
        until: float | str | None = None,
    ) -> str:
        """Usage rows as CSV or JSON text; audited. `NotFound` when no usage ledger is wired."""
        if fmt not in ("csv", "json"):
            raise InvalidRequest("format must be csv or json", param="format")
        actor = check_actor(by)
        if self.usage_source is None:
            raise NotFound("no usage ledger is configured for this mount")
        start, end = parse_time(since, "since"), parse_time(until, "until")
        rows = await self.usage_source(user_id, start, end)
        await self.audit(actor, "export", user_id or "*", f"usage as {fmt}, {len(rows)} rows")
        return export_rows(rows, fmt)

    def _accounts(self) -> AccountSessions:
        if self.accounts is None:
            raise InvalidRequest("this operation needs the app's secrets (AUTH_AI_*_SECRET)")
        return self.accounts
