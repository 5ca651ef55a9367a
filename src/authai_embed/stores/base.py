"""The storage seam: what a credential store holds and the small async protocol it speaks.

A store keeps only ciphertext and planning metadata. Record keys live in users' JWTs; pending
logins are stored under the hash of their session id and sealed under a key derived from it, so a
database dump alone yields no provider token, no device code and no session JWT.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "USAGE_COUNTS",
    "AuthStore",
    "LoginStatus",
    "PendingLogin",
    "Record",
    "UsageRow",
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

    async def add_usage(
        self, rows: Sequence[UsageRow], quota_tokens: Sequence[tuple[str, str, int]] = ()
    ) -> None:
        """Add `rows` to the usage ledger (summed into the stored row of the same user,
        provider, model and day) and each `(user_id, day, tokens)` of `quota_tokens` to that
        user's quota counter, in one transaction: the ledger's batched flush."""
        ...

    async def get_usage(self, user_id: str | None, since: str, until: str) -> list[UsageRow]:
        """The usage rows of `user_id` (every user's when `None`) from day `since` to day
        `until`, both included (`YYYY-MM-DD`), ordered by day, user, provider and model."""
        ...

    async def reserve_quota(
        self,
        user_id: str,
        day: str,
        tokens: int,
        max_requests: int | None,
        max_tokens: int | None,
    ) -> bool:
        """Count one request and `tokens` on the user's counter for `day`, atomically and only
        if that keeps it within `max_requests` and `max_tokens` (`None`: no bound). Return
        whether it was counted. Every process sharing the store sees the same counter."""
        ...

    async def sweep_usage(self, before_day: str) -> int:
        """Delete usage rows and quota counters of days before `before_day`; return how many."""
        ...
