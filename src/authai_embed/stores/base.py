"""The storage seam: what a credential store holds and the small async protocol it speaks.

A store keeps only ciphertext and planning metadata. Record keys live in users' JWTs; pending
logins are stored under the hash of their session id and sealed under a key derived from it, so a
database dump alone yields no provider token, no device code and no session JWT.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, runtime_checkable

__all__ = [
    "USAGE_COUNTS",
    "AuditEntry",
    "AuthStore",
    "Control",
    "LoginStatus",
    "PendingLogin",
    "QuotaCounter",
    "Record",
    "UsageRow",
    "UserSummary",
    "check_swap_version",
]

LoginStatus = Literal["pending", "complete", "expired", "error"]


def check_swap_version(new: int, expected: int) -> None:
    """The rule every store's compare-and-swap enforces: a write is `expected_version + 1`."""
    if new != expected + 1:
        raise ValueError("the written version must be expected_version + 1")


@dataclass(frozen=True, slots=True)
class Record:
    """One session's sealed provider credentials: each completed sign-in is its own record.

    `account_id_hash` is the opaque user id (the same for every session of one account), indexed
    so a user's sessions can be listed and ended together. `version` is bumped by every write, for
    compare-and-swap. `access_expires_at` is kept in the clear so refreshes can be planned without
    decrypting. `expires_at` is when the sweep may delete the record. `label` (set by the host,
    e.g. "Firefox on Linux") and `last_used_at` are bookkeeping for a "your devices" page: a
    compare-and-swap never writes them. Times are Unix seconds.
    """

    id: str
    app_id: str | None
    provider: str
    account_id_hash: str
    iv: bytes
    blob: bytes
    version: int
    access_expires_at: float | None
    created_at: float
    updated_at: float
    expires_at: float
    label: str | None = None
    last_used_at: float | None = None


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """A device-code sign-in in progress, visible to every process that shares the store.

    `id` is the SHA-256 of the session id handed to the browser, never the session id itself.
    `iv`/`blob` seal (under a key derived from the session id) the provider's device state and,
    once complete, the session JWT. `version` is bumped by every write, for compare-and-swap:
    only the process that wins the swap asks the provider, so concurrent polls make one record.
    """

    id: str
    app_id: str | None
    provider: str
    iv: bytes
    blob: bytes
    status: LoginStatus
    error: str | None
    interval: float
    next_poll_at: float
    expires_at: float
    created_at: float
    version: int


@dataclass(frozen=True, slots=True)
class UserSummary:
    """One user as an admin sees them: the opaque id, the provider, when their oldest live
    session began (`first_seen`), their latest use (`last_used`; the sign-in's time when unused
    since) and how many sessions they hold. Times are Unix seconds; nothing here is secret."""

    user_id: str
    provider: str
    first_seen: float
    last_used: float
    sessions: int


@dataclass(frozen=True, slots=True)
class Control:
    """One pause of the kill switch, stored so that every process sharing the store obeys it.

    `name` is `"signins"` (new sign-ins), `"models"` (every model call) or `"models:<provider>"`
    (one provider's). `until` is when it lifts by itself (`None`: until resumed); `set_by` is the
    admin who set it and `set_at` when (Unix seconds).
    """

    name: str
    until: float | None
    set_by: str
    set_at: float


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One admin action in the audit log: who (`actor`), what (`action`: `pause`, `resume`,
    `revoke`, `export`), on what (`target`: a user id, a control name or an export's scope),
    when (`at`, Unix seconds) and an optional short `detail`. Never a token."""

    at: float
    actor: str
    action: str
    target: str
    detail: str | None = None


USAGE_COUNTS = (
    "requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "errors",
    "rate_limited",
)
"""The counters of a `UsageRow`, in column order; the stores add them up field by field."""


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One user's model calls to one provider and model on one UTC day (`YYYY-MM-DD`).

    Token counts are the upstream's own; `errors` counts calls that failed (any cause), and
    `rate_limited` those of them that were answered 429. Written in batches by the usage
    ledger, so a row is a sum of many calls.
    """

    user_id: str
    provider: str
    model: str
    day: str
    requests: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    errors: int = 0
    rate_limited: int = 0


class QuotaCounter(NamedTuple):
    """A user's daily quota counter after a reservation: requests and tokens counted so far
    (reservations, settled with the calls' real tokens)."""

    requests: int
    tokens: int


@runtime_checkable
class AuthStore(Protocol):
    """What `AuthAI` needs from a store. Every method is safe to call concurrently.

    Implementations raise `StoreError` when the backing store fails or cannot be reached.
    """

    async def open(self) -> None:
        """Connect and run pending schema migrations. Called once at startup; idempotent."""
        ...

    async def close(self) -> None:
        """Release connections. Idempotent."""
        ...

    async def put_record(self, record: Record) -> None:
        """Insert `record` as a new session; the account's other records stay.

        Putting the same record again overwrites it; an id held by another account is a
        `StoreError`, as a primary key would refuse it.
        """
        ...

    async def get_record(self, record_id: str) -> Record | None:
        """The record with this id, or `None`."""
        ...

    async def list_records(self, app_id: str | None, account_id_hash: str) -> list[Record]:
        """Every record of one user (`account_id_hash`) in one tenant, oldest first (by
        `created_at`, then `id`)."""
        ...

    async def touch_record(self, record_id: str, last_used_at: float) -> None:
        """Set `last_used_at` (nothing else, the version included); a missing id is no error."""
        ...

    async def label_record(self, record_id: str, label: str | None) -> bool:
        """Set `label` (nothing else, the version included); return whether the record exists."""
        ...

    async def swap_record(self, record: Record, expected_version: int) -> bool:
        """Write `record` (its `version` must be `expected_version + 1`) only if the stored version
        is still `expected_version`. Return whether it was written."""
        ...

    async def delete_record(self, record_id: str) -> bool:
        """Delete a record; return whether it existed."""
        ...

    async def put_pending(self, login: PendingLogin) -> None:
        """Insert a new pending login."""
        ...

    async def get_pending(self, login_id: str) -> PendingLogin | None:
        """The pending login with this id, or `None`."""
        ...

    async def swap_pending(self, login: PendingLogin, expected_version: int) -> bool:
        """Compare-and-swap a pending login, like `swap_record`."""
        ...

    async def acquire_lease(self, name: str, owner: str, until: float, now: float) -> bool:
        """Take the named lease for `owner` until `until`, if it is free or expired at `now`
        (or already held by `owner`). Return whether `owner` holds it now."""
        ...

    async def release_lease(self, name: str, owner: str) -> None:
        """Give the lease up if `owner` holds it."""
        ...

    async def sweep(self, now: float) -> int:
        """Delete pending logins and records whose `expires_at` is past, and expired leases.
        Return how many rows went."""
        ...

    async def list_users(
        self, app_id: str | None, *, created_after: float, limit: int
    ) -> list[UserSummary]:
        """The users of one tenant with a record created after `created_after` (their live
        sessions), at most `limit`, most recently used first (then by user id)."""
        ...

    async def put_control(self, app_id: str | None, control: Control) -> None:
        """Set a kill-switch control (replacing the one of that name in the tenant)."""
        ...

    async def delete_control(self, app_id: str | None, name: str) -> bool:
        """Lift a control; return whether it was set."""
        ...

    async def list_controls(self, app_id: str | None) -> list[Control]:
        """Every control set in the tenant (expired ones included), by name."""
        ...

    async def add_audit(self, app_id: str | None, entry: AuditEntry) -> None:
        """Append an entry to the tenant's audit log."""
        ...

    async def list_audit(self, app_id: str | None, *, since: float, limit: int) -> list[AuditEntry]:
        """The tenant's audit entries at or after `since`, oldest first; the newest `limit` when
        there are more."""
        ...

    async def add_usage(
        self, rows: Sequence[UsageRow], quota_settle: Sequence[tuple[str, str, int, int]] = ()
    ) -> None:
        """Add `rows` to the usage ledger (summed into the stored row of the same user,
        provider, model and day) and each `(user_id, day, requests, tokens)` of `quota_settle`
        to that user's existing quota counter (never below zero), in one transaction: the
        ledger's batched flush."""
        ...

    async def get_usage(self, user_id: str | None, since: str, until: str) -> list[UsageRow]:
        """The usage rows of `user_id` (every user's when `None`) from day `since` to day
        `until`, both included (`YYYY-MM-DD`), ordered by day, user, provider and model."""
        ...

    async def reserve_quota(
        self,
        user_id: str,
        day: str,
        requests: int,
        tokens: int,
        max_requests: int | None,
        max_tokens: int | None,
    ) -> QuotaCounter | None:
        """Count `requests` and `tokens` on the user's counter for `day`, atomically and only
        if that keeps it within `max_requests` and `max_tokens` (`None`: no bound). Return the
        counter after, or `None` when nothing was counted. Every process sharing the store sees
        the same counter."""
        ...

    async def sweep_usage(self, before_day: str) -> int:
        """Delete usage rows and quota counters of days before `before_day`; return how many."""
        ...
