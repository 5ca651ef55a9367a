"""One user's sessions: list them, label them, end one or all, and keep their number bounded.

Every completed sign-in is its own record; the user id (`Record.account_id_hash`) ties the
sessions of one account together. The id a user or host sees for a session is an HMAC of the
record id under the identity key: opaque, stable, and of no use for opening anything. Every
lookup starts from the user's own records, so an id of someone else's session is simply not
found (the same answer as an id that never existed).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

from authai_embed._util.b64 import b64url_encode
from authai_embed._util.clock import Clock
from authai_embed._util.logs import get_logger
from authai_embed.errors import InvalidRequest, StoreError
from authai_embed.events import ReauthRequired, Revoked, SignedIn, SignedOut
from authai_embed.observe.bus import EventBus
from authai_embed.settings import Settings
from authai_embed.stores.base import AuthStore, Record

__all__ = ["AccountSessions", "EndReason", "SessionInfo", "check_label", "public_session_id"]

logger = get_logger("sessions")

EndReason = Literal[
    "signed_out", "ended", "signed_out_everywhere", "session_limit", "rejected", "admin"
]
"""Why a session ended: its own sign-out, ended by id from another, "sign out everywhere",
pushed out by a newer sign-in past `max_sessions_per_user`, the provider refused its refresh,
ended by the host (an administrator). Each is an event (`ended`)."""

TOUCH_INTERVAL = 60.0
"""Seconds between two writes of a session's `last_used_at`: a "last used" to the minute, and
not one write per request."""
MAX_LABEL = 100


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One of a user's sessions, for a "your devices" page. Holds nothing secret.

    `session_id` is opaque (pass it to `end_session`/`label_session`); times are Unix seconds;
    `last_used_at` is to the minute (`None`: not used since the sign-in); `current` is whether it
    is the session of the request that asked (always `False` from `AuthAI.list_sessions`).
    """

    session_id: str
    provider: str
    created_at: float
    last_used_at: float | None
    label: str | None
    current: bool = False


def public_session_id(identity_key: bytes, record_id: str) -> str:
    """The id a session is shown by: 128 bits of HMAC-SHA256 of its record id."""
    digest = hmac.new(identity_key, b"authai session id\x00" + record_id.encode(), hashlib.sha256)
    return b64url_encode(digest.digest()[:16])


def check_label(label: str | None) -> str | None:
    """A label as stored: trimmed, `None` when empty; `InvalidRequest` when longer than 100
    characters or holding control characters."""
    if label is None:
        return None
    if not isinstance(label, str):
        raise InvalidRequest("label must be a string", param="label")
    label = label.strip()
    if len(label) > MAX_LABEL or not label.isprintable():
        raise InvalidRequest(
            f"label must be at most {MAX_LABEL} printable characters", param="label"
        )
    return label or None


class AccountSessions:
    """The per-user view of the store's session records."""

    __slots__ = ("_clock", "_events", "_identity_key", "_settings", "_store")

    def __init__(
        self,
        *,
        store: AuthStore,
        identity_key: bytes,
        settings: Settings,
        clock: Clock,
        events: EventBus | None = None,
    ) -> None:
        self._events = events if events is not None else EventBus(clock=clock)
        self._store = store
        self._identity_key = identity_key
        self._settings = settings
        self._clock = clock

    def public_id(self, record: Record) -> str:
        """The opaque id `record` is shown by."""
        return public_session_id(self._identity_key, record.id)

    async def records(self, user_id: str) -> list[Record]:
        """The user's records in this tenant, oldest first."""
        return await self._store.list_records(self._settings.app_id, user_id)

    async def live_records(self, user_id: str) -> list[Record]:
        """The user's records whose JWT may still be valid (the others wait for the sweep)."""
        now = self._clock.now()
        lifetime = self._settings.token_ttl + self._settings.jwt_leeway
        return [r for r in await self.records(user_id) if r.created_at + lifetime > now]

    async def describe(self, user_id: str, *, current: Record | None = None) -> list[SessionInfo]:
        """The user's live sessions, oldest first; `current` marks the asking session."""
        return [
            SessionInfo(
                session_id=self.public_id(r),
                provider=r.provider,
                created_at=r.created_at,
                last_used_at=r.last_used_at,
                label=r.label,
                current=current is not None and r.id == current.id,
            )
            for r in await self.live_records(user_id)
        ]

    async def find(self, user_id: str, session_id: str) -> Record | None:
        """The user's record shown as `session_id`, or `None` (whoever else's it may be)."""
        wanted = session_id.encode("utf-8", "replace")
        found = None
        for record in await self.records(user_id):
            if hmac.compare_digest(self.public_id(record).encode(), wanted):
                found = record
        return found

    async def end(self, user_id: str, session_id: str, reason: EndReason = "ended") -> bool:
        """End the user's session `session_id`; False when the user has no such session."""
        record = await self.find(user_id, session_id)
        if record is None or not await self._store.delete_record(record.id):
            return False
        self.ended(record, reason)
        return True

    async def end_all(self, user_id: str, reason: EndReason = "signed_out_everywhere") -> int:
        """End every session of the user; return how many there were. An administrator's
        revocation passes `reason="admin"` (the `revoked` event)."""
        count = 0
        for record in await self.records(user_id):
            if await self._store.delete_record(record.id):
                self.ended(record, reason)
                count += 1
        return count

    async def label(self, user_id: str, session_id: str, label: str | None) -> bool:
        """Set (or with `None` clear) the label of the user's session; False when not found."""
        text = check_label(label)
        record = await self.find(user_id, session_id)
        return record is not None and await self._store.label_record(record.id, text)

    async def enforce_limit(self, newest: Record) -> None:
        """End the oldest live sessions of `newest`'s user beyond `max_sessions_per_user`, never
        `newest` itself (expired ones count for nothing: the sweep takes them). Processes racing
        here converge: each ends the same oldest ones."""
        records = await self.live_records(newest.account_id_hash)
        excess = len(records) - self._settings.max_sessions_per_user
        older = [r for r in records if r.id != newest.id]
        for record in older[: max(0, excess)]:
            if await self._store.delete_record(record.id):
                self.ended(record, "session_limit")

    async def touch(self, record: Record) -> None:
        """Note that `record` was used now, at most once per `TOUCH_INTERVAL`. Bookkeeping: a
        store failure here is logged, never the request's failure."""
        now = self._clock.now()
        last = record.last_used_at if record.last_used_at is not None else record.created_at
        if now - last < TOUCH_INTERVAL:
            return
        try:
            await self._store.touch_record(record.id, now)
        except StoreError as exc:
            logger.warning("could not note a session's last use: %s", exc)

    def started(self, record: Record) -> None:
        """Called once for every session a sign-in creates: the `signed_in` event."""
        if self._events.active:
            user, now = record.account_id_hash, self._events.now()
            self._events.emit(SignedIn(user, record.provider, now, self.public_id(record)))

    def ended(self, record: Record, reason: EndReason) -> None:
        """Called once for every session that ends (by sign-out, by id, everywhere, by the
        session limit, by the provider's refusal, by an administrator): an INFO line and the
        event (`signed_out`, `reauth_required`, `revoked`), with no secret in either."""
        session_id = self.public_id(record)
        logger.info(
            "session ended reason=%s provider=%s session=%s", reason, record.provider, session_id
        )
        events = self._events
        if not events.active:
            return
        user, provider, now = record.account_id_hash, record.provider, events.now()
        if reason == "rejected":
            events.emit(ReauthRequired(user, provider, now, session_id))
        elif reason == "admin":
            events.emit(Revoked(user, provider, now, session_id))
        else:
            events.emit(SignedOut(user, provider, now, session_id, reason))
