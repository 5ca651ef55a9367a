"""`MemoryStore`: the store for tests and single-process demos. Nothing survives the process."""

from __future__ import annotations

from dataclasses import replace

from .base import PendingLogin, Record

__all__ = ["MemoryStore"]


def _check_version(new: int, expected: int) -> None:
    if new != expected + 1:
        raise ValueError("the written version must be expected_version + 1")


class MemoryStore:
    """Dicts in memory. Every method runs without awaiting inside, so each is atomic under
    asyncio and trio alike."""

    def __init__(self) -> None:
        self._records: dict[str, Record] = {}
        self._by_account: dict[tuple[str | None, str], str] = {}
        self._pending: dict[str, PendingLogin] = {}
        self._leases: dict[str, tuple[str, float]] = {}

    async def open(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """Nothing to release; the data stays until the object is dropped."""

    async def put_record(self, record: Record) -> None:
        """Insert, replacing the account's previous record."""
        account = (record.app_id, record.account_id_hash)
        old = self._by_account.pop(account, None)
        if old is not None:
            self._records.pop(old, None)
        self._records[record.id] = record
        self._by_account[account] = record.id

    async def get_record(self, record_id: str) -> Record | None:
        """The record, or `None`."""
        return self._records.get(record_id)

    async def swap_record(self, record: Record, expected_version: int) -> bool:
        """Compare-and-swap on `version`."""
        _check_version(record.version, expected_version)
        current = self._records.get(record.id)
        if current is None or current.version != expected_version:
            return False
        # The identity columns never change through a swap.
        self._records[record.id] = replace(
            record,
            app_id=current.app_id,
            account_id_hash=current.account_id_hash,
            provider=current.provider,
            created_at=current.created_at,
        )
        return True

    async def delete_record(self, record_id: str) -> bool:
        """Delete; return whether it existed."""
        record = self._records.pop(record_id, None)
        if record is None:
            return False
        self._by_account.pop((record.app_id, record.account_id_hash), None)
        return True

    async def put_pending(self, login: PendingLogin) -> None:
        """Insert a pending login (an existing id is overwritten)."""
        self._pending[login.id] = login

    async def get_pending(self, login_id: str) -> PendingLogin | None:
        """The pending login, or `None`."""
        return self._pending.get(login_id)

    async def swap_pending(self, login: PendingLogin, expected_version: int) -> bool:
        """Compare-and-swap on `version`."""
        _check_version(login.version, expected_version)
        current = self._pending.get(login.id)
        if current is None or current.version != expected_version:
            return False
        self._pending[login.id] = login
        return True

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
        """Delete what has expired; return how many entries went."""
        gone = 0
        for record in [r for r in self._records.values() if r.expires_at < now]:
            gone += await self.delete_record(record.id)
        for login_id in [k for k, v in self._pending.items() if v.expires_at < now]:
            del self._pending[login_id]
            gone += 1
        for name in [k for k, (_, until) in self._leases.items() if until < now]:
            del self._leases[name]
            gone += 1
        return gone

    async def counts(self) -> dict[str, int]:
        """How many records, pending logins and leases are held."""
        return {
            "records": len(self._records),
            "pending_logins": len(self._pending),
            "leases": len(self._leases),
        }
