"""What the mount tells the host app about its users: typed events for `AuthAI(on_event=...)`.

Each event is a frozen dataclass carrying the opaque user id, the provider and the time (Unix
seconds), never a token, a JWT or a prompt: events are safe to log, queue and send out. `Event`
is their union; `event_payload` is the JSON object a webhook sends. docs/events.md.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal, Protocol

__all__ = [
    "Event",
    "EventHandler",
    "LimitReached",
    "LimitReset",
    "ProviderErrorBurst",
    "QuotaExceededEvent",
    "ReauthRequired",
    "Revoked",
    "SignedIn",
    "SignedOut",
    "event_payload",
]

SignOutReason = Literal["signed_out", "ended", "signed_out_everywhere", "session_limit"]


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A sign-in completed: a new session (`session_id` as `SessionInfo.session_id` shows it)."""

    type: ClassVar[str] = "signed_in"
    user_id: str
    provider: str
    at: float
    session_id: str


@dataclass(frozen=True, slots=True)
class SignedOut:
    """A session ended by the user: `reason` is its own sign-out (`signed_out`), ended by id
    from another session (`ended`), "sign out everywhere" (`signed_out_everywhere`), or pushed
    out by a newer sign-in past `max_sessions_per_user` (`session_limit`)."""

    type: ClassVar[str] = "signed_out"
    user_id: str
    provider: str
    at: float
    session_id: str
    reason: SignOutReason


@dataclass(frozen=True, slots=True)
class Revoked:
    """A session ended by the host (an administrator), not by its user."""

    type: ClassVar[str] = "revoked"
    user_id: str
    provider: str
    at: float
    session_id: str


@dataclass(frozen=True, slots=True)
class ReauthRequired:
    """The provider refused a session's refresh token: the session is gone and the user must
    sign in again."""

    type: ClassVar[str] = "reauth_required"
    user_id: str
    provider: str
    at: float
    session_id: str


@dataclass(frozen=True, slots=True)
class LimitReached:
    """The provider answered the user's call with a usage or rate limit (our 429).
    `retry_after`: seconds until it resets, when the provider said; `code`: its reason
    (`usage_limit_reached`, `rate_limit_exceeded`, ...)."""

    type: ClassVar[str] = "limit_reached"
    user_id: str
    provider: str
    at: float
    code: str | None
    retry_after: float | None


@dataclass(frozen=True, slots=True)
class LimitReset:
    """A call of a user who had reached a limit succeeded again (after the reset time)."""

    type: ClassVar[str] = "limit_reset"
    user_id: str
    provider: str
    at: float


@dataclass(frozen=True, slots=True)
class QuotaExceededEvent:
    """A call was refused by a quota the host set (not the provider's limit): `quota` names
    it; `limit` and `used` are in its unit, when known."""

    type: ClassVar[str] = "quota_exceeded"
    user_id: str
    provider: str
    at: float
    quota: str
    limit: float | None = None
    used: float | None = None


@dataclass(frozen=True, slots=True)
class ProviderErrorBurst:
    """`errors` upstream failures (5xx answers, timeouts) of one provider within `window`
    seconds: the provider is likely down. About every user, so `user_id` is `None`; sent at
    most once per window."""

    type: ClassVar[str] = "provider_error_burst"
    user_id: None
    provider: str
    at: float
    errors: int
    window: float


Event = (
    SignedIn
    | SignedOut
    | Revoked
    | ReauthRequired
    | LimitReached
    | LimitReset
    | QuotaExceededEvent
    | ProviderErrorBurst
)
"""Every event `on_event` handlers receive; tell them apart by class or by `event.type`."""


class EventHandler(Protocol):
    """An `on_event` handler: an async callable taking one event. It runs in the background,
    after the request, one event at a time; what it raises is logged and dropped."""

    def __call__(self, event: Event, /) -> Awaitable[None]: ...


def event_payload(event: Event) -> dict[str, Any]:
    """The JSON object for `event`: `{"type": ..., "user_id": ..., "provider": ..., "at": ...,
    ...the event's other fields}` (what a webhook's body carries)."""
    return {"type": event.type, **asdict(event)}
