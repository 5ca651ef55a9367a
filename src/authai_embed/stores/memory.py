"""`MemoryStore`: the store for tests and single-process demos. Nothing survives the process.

It mirrors `SQLiteStore` rule for rule (the shared suite in `tests/stores/test_stores.py`
holds both to it): an empty `app_id` is the default tenant like `None`, a swap never changes a
row's identity columns, a version that is not `expected_version + 1` is a `ValueError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, replace
from typing import Any, TypeVar

from authai_embed.errors import StoreError
from authai_embed.stores.base import (
    USAGE_COUNTS,
    AuditEntry,
    Control,
    PendingLogin,
    QuotaCounter,
    Record,
    UsageRow,
    UserSummary,
    check_swap_version,
)

__all__ = ["MemoryStore"]

# What a compare-and-swap may not change: the row's identity, fixed when it was first put, and
# the bookkeeping that has its own writes (`touch_record`, `label_record`).
_RECORD_IDENTITY = (
    "app_id",
    "provider",
    "account_id_hash",
    "created_at",
    "label",
    "last_used_at",
)
_PENDING_IDENTITY = ("app_id", "provider", "created_at")


def _default_tenant(app_id: str | None) -> str | None:
    """'' and None are the same tenant (SQLite stores both as '' for its UNIQUE index)."""
    return app_id or None


Row = TypeVar("Row", Record, PendingLogin)


def _swap(table: dict[str, Row], row: Row, expected: int, identity: tuple[str, ...]) -> bool:
    """Compare-and-swap `row` into `table` on `version`, keeping the stored identity fields."""
    check_swap_version(row.version, expected)
    current = table.get(row.id)
    if current is None or current.version != expected:
        return False
    table[row.id] = replace(row, **{name: getattr(current, name) for name in identity})
    return True


class MemoryStore:
    """Dicts in memory. Every method runs without awaiting inside, so each is atomic under
    asyncio and trio alike."""

    def __init__(self) -> None:
        self._records: dict[str, Record] = {}
        self._pending: dict[str, PendingLogin] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._controls: dict[tuple[str | None, str], Control] = {}
        self._audit: list[tuple[str | None, AuditEntry]] = []
        self._usage: dict[tuple[str, str, str, str], UsageRow] = {}
        self._quota: dict[tuple[str, str], tuple[int, int]] = {}  # (user, day): requests, tokens

    async def open(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """Nothing to release; the data stays until the object is dropped."""

    async def put_record(self, record: Record) -> None:
        """Insert a new session record (the same record again overwrites it).

        Raises `StoreError` if `record.id` already belongs to another account, as a database's
        primary key would.
        """
        record = replace(record, app_id=_default_tenant(record.app_id))
        account = (record.app_id, record.account_id_hash)
        same_id = self._records.get(record.id)
        if same_id is not None and (same_id.app_id, same_id.account_id_hash) != account:
            raise StoreError("MemoryStore put_record failed: the record id is already taken")
        self._records[record.id] = record

    async def get_record(self, record_id: str) -> Record | None:
        """The record, or `None`."""
        return self._records.get(record_id)

    async def list_records(self, app_id: str | None, account_id_hash: str) -> list[Record]:
        """The user's records in the tenant, oldest first."""
        tenant = _default_tenant(app_id)
        mine = [
            r
            for r in self._records.values()
            if r.app_id == tenant and r.account_id_hash == account_id_hash
        ]
        return sorted(mine, key=lambda r: (r.created_at, r.id))

    async def touch_record(self, record_id: str, last_used_at: float) -> None:
        """Set `last_used_at` if the record exists."""
        current = self._records.get(record_id)
        if current is not None:
            self._records[record_id] = replace(current, last_used_at=last_used_at)

    async def label_record(self, record_id: str, label: str | None) -> bool:
        """Set `label`; return whether the record exists."""
        current = self._records.get(record_id)
        if current is None:
            return False
        self._records[record_id] = replace(current, label=label)
        return True

    async def swap_record(self, record: Record, expected_version: int) -> bool:
        """Compare-and-swap on `version`.

        Only the sealed blob, version and times are written; the identity columns keep their
        stored values. Raises `ValueError` unless `record.version == expected_version + 1`.
        """
        return _swap(self._records, record, expected_version, _RECORD_IDENTITY)

    async def delete_record(self, record_id: str) -> bool:
        """Delete; return whether it existed."""
        return self._drop_record(record_id)

    async def put_pending(self, login: PendingLogin) -> None:
        """Insert a pending login (an existing id is overwritten)."""
        self._pending[login.id] = replace(login, app_id=_default_tenant(login.app_id))

    async def get_pending(self, login_id: str) -> PendingLogin | None:
        """The pending login, or `None`."""
        return self._pending.get(login_id)

    async def swap_pending(self, login: PendingLogin, expected_version: int) -> bool:
        """Compare-and-swap on `version`.

        The identity columns keep their stored values. Raises `ValueError` unless
        `login.version == expected_version + 1`.
        """
        return _swap(self._pending, login, expected_version, _PENDING_IDENTITY)

    async def acquire_lease(self, name: str, owner: str, until: float, now: float) -> bool:
        """Take or extend the lease if free, expired, or already ours."""
        held = self._leases.get(name)
        if held is not None and held[0] != owner and held[1] > now:
            return False
        self._leases[name] = (owner, until)
        return True

    async def release_lease(self, name: str, owner: str) -> None:
        """Release if we hold it."""
        held = self._leases.get(name)
        if held is not None and held[0] == owner:
            del self._leases[name]

    async def sweep(self, now: float) -> int:
        """Delete what has expired; return how many entries went.

        Records and pending logins go when `expires_at < now`; a lease goes when `until <= now`,
        the moment another owner could take it.
        """
        gone = 0
        for record_id in [k for k, r in self._records.items() if r.expires_at < now]:
            gone += self._drop_record(record_id)
        for login_id in [k for k, p in self._pending.items() if p.expires_at < now]:
            del self._pending[login_id]
            gone += 1
        for name in [k for k, (_, until) in self._leases.items() if until <= now]:
            del self._leases[name]
            gone += 1
        return gone

    async def add_usage(
        self, rows: Sequence[UsageRow], quota_settle: Sequence[tuple[str, str, int, int]] = ()
    ) -> None:
        """Sum `rows` into the ledger and `quota_settle` into the quota counters."""
        for row in rows:
            key = (row.user_id, row.provider, row.model, row.day)
            held = self._usage.get(key)
            if held is None:
                self._usage[key] = row
                continue
            sums: dict[str, Any] = {
                n: a + b for n, a, b in zip(USAGE_COUNTS, _counts(held), _counts(row), strict=True)
            }
            self._usage[key] = replace(held, **sums)
        for user_id, day, requests, tokens in quota_settle:
            counter = self._quota.get((user_id, day))
            if counter is None:
                continue  # as the databases: only an existing counter is settled
            self._quota[(user_id, day)] = (
                max(0, counter[0] + requests),
                max(0, counter[1] + tokens),
            )

    async def get_usage(self, user_id: str | None, since: str, until: str) -> list[UsageRow]:
        """The rows of `user_id` (or everyone) from `since` to `until`, days included."""
        rows = [
            r
            for r in self._usage.values()
            if since <= r.day <= until and (user_id is None or r.user_id == user_id)
        ]
        return sorted(rows, key=lambda r: (r.day, r.user_id, r.provider, r.model))

    async def reserve_quota(
        self,
        user_id: str,
        day: str,
        requests: int,
        tokens: int,
        max_requests: int | None,
        max_tokens: int | None,
    ) -> QuotaCounter | None:
        """Count `requests` and `tokens` if both stay within their bounds."""
        counted, used = self._quota.get((user_id, day), (0, 0))
        after = QuotaCounter(counted + requests, used + tokens)
        if max_requests is not None and after.requests > max_requests:
            return None
        if max_tokens is not None and after.tokens > max_tokens:
            return None
        self._quota[(user_id, day)] = after
        return after

    async def sweep_usage(self, before_day: str) -> int:
        """Drop usage rows and quota counters of days before `before_day`."""
        old = [k for k, r in self._usage.items() if r.day < before_day]
        counters = [k for k in self._quota if k[1] < before_day]
        for key in old:
            del self._usage[key]
        for counter in counters:
            del self._quota[counter]
        return len(old) + len(counters)

    async def counts(self) -> dict[str, int]:
        """How many records, pending logins and leases are held."""
        return {
            "records": len(self._records),
            "pending_logins": len(self._pending),
            "leases": len(self._leases),
        }

    async def list_users(
        self, app_id: str | None, *, created_after: float, limit: int
    ) -> list[UserSummary]:
        """The tenant's users with a live record, most recently used first."""
        tenant = _default_tenant(app_id)
        users: dict[tuple[str, str], UserSummary] = {}
        for r in self._records.values():
            if r.app_id != tenant or r.created_at <= created_after:
                continue
            used = r.last_used_at if r.last_used_at is not None else r.created_at
            key = (r.account_id_hash, r.provider)
            seen = users.get(key)
            if seen is None:
                users[key] = UserSummary(r.account_id_hash, r.provider, r.created_at, used, 1)
            else:
                users[key] = UserSummary(
                    seen.user_id,
                    seen.provider,
                    min(seen.first_seen, r.created_at),
                    max(seen.last_used, used),
                    seen.sessions + 1,
                )
        ordered = sorted(users.values(), key=lambda u: (-u.last_used, u.user_id, u.provider))
        return ordered[:limit]

    async def put_control(self, app_id: str | None, control: Control) -> None:
        """Set a control, replacing the one of that name."""
        self._controls[(_default_tenant(app_id), control.name)] = control

    async def delete_control(self, app_id: str | None, name: str) -> bool:
        """Lift a control; return whether it was set."""
        return self._controls.pop((_default_tenant(app_id), name), None) is not None

    async def list_controls(self, app_id: str | None) -> list[Control]:
        """The tenant's controls, by name."""
        tenant = _default_tenant(app_id)
        return sorted(
            (c for (t, _), c in self._controls.items() if t == tenant), key=lambda c: c.name
        )

    async def add_audit(self, app_id: str | None, entry: AuditEntry) -> None:
        """Append to the audit log."""
        self._audit.append((_default_tenant(app_id), entry))

    async def list_audit(self, app_id: str | None, *, since: float, limit: int) -> list[AuditEntry]:
        """The tenant's entries since `since`, oldest first (the newest `limit`)."""
        tenant = _default_tenant(app_id)
        found = [e for t, e in self._audit if t == tenant and e.at >= since]
        found.sort(key=lambda e: e.at)  # stable: equal times keep the order they were added
        return found[-limit:] if limit > 0 else []

    def _drop_record(self, record_id: str) -> bool:
        """Remove a record (synchronous, so callers stay atomic)."""
        return self._records.pop(record_id, None) is not None


def _counts(row: UsageRow) -> tuple[int, ...]:
    """The counters of `row`, in `USAGE_COUNTS` order (they follow the four key fields)."""
    return astuple(row)[4:]
