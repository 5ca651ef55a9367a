"""A process's allowance of its users' daily quotas: calls reserved ahead, so that most calls
under a daily quota take no store round trip.

Each reservation on the store's counter may take a block of calls (and their estimated
tokens) instead of one: the call that asked takes its share and the rest waits in this
process for the user's next calls. A block is never more than `calls_per_reservation`
calls nor more than 1/`SHARE` of what the quota had left at the previous reservation, so
near the limit every call reserves exactly its own. What a process holds and does not use
is handed back through the ledger at the first flush after a whole flush interval unused
(so within two intervals), and at shutdown.

So the counter never admits more than the quota, across any number of processes; a call
can only be refused early while another process still holds part of a block it has not
used (at most two flush intervals, a small share of what was left).
"""

from __future__ import annotations

from dataclasses import dataclass

from authai_embed.stores.base import AuthStore, QuotaCounter
from authai_embed.usage.ledger import UsageLedger
from authai_embed.usage.quotas import Quota

__all__ = ["SHARE", "Allowance"]

SHARE = 32
"""A block never takes more than 1/32 of what the quota had left."""


@dataclass(slots=True)
class _Held:
    """What this process holds of one user's counter for one day, and what it knows of it."""

    calls: int = 0  # may go negative for a dimension without a bound: handed back as a debt
    tokens: int = 0
    left_calls: int | None = None  # what the quota had left after the last reservation
    left_tokens: int | None = None
    used: bool = True  # since the last flush


class Allowance:
    """Reserves calls of users' daily quotas on the store, in blocks (see the module)."""

    __slots__ = ("_block", "_held", "_ledger", "_store", "reservations")

    def __init__(self, store: AuthStore, ledger: UsageLedger, calls_per_reservation: int) -> None:
        self._store = store
        self._ledger = ledger
        self._block = calls_per_reservation
        self._held: dict[tuple[str, str], _Held] = {}
        self.reservations = 0
        """Store reservations made (the bench reports them per call)."""
        ledger.before_flush = self.hand_back

    async def take(self, user_id: str, day: str, tokens: int, quota: Quota) -> bool:
        """Reserve one call of `tokens` estimated tokens for `user_id` on `day` under `quota`'s
        daily bounds: from what this process holds, else from the store. `False`: over quota."""
        key = (user_id, day)
        while True:  # again after a reservation: a flush may have handed the entry back meanwhile
            held = self._entry(key)
            held.used = True
            if _fits(held, tokens, quota):
                held.calls -= 1
                held.tokens -= tokens
                return True
            block = self._size(held, tokens, quota)
            counter = await self._reserve(user_id, day, block, quota)
            if counter is None and block != (exact := _shortfall(held, tokens)):
                block = exact
                counter = await self._reserve(user_id, day, block, quota)
            if counter is None:
                return False
            held = self._entry(key)
            held.calls += block[0]
            held.tokens += block[1]
            _learn(held, counter, quota)

    def hand_back(self, everything: bool) -> None:
        """Give back, through the ledger's flush, what was not used since the last flush (all
        of it at shutdown)."""
        for key, held in list(self._held.items()):
            if held.used and not everything:
                held.used = False
                continue
            del self._held[key]
            if held.calls or held.tokens:
                self._ledger.settle(key[0], key[1], -held.calls, -held.tokens)

    def _entry(self, key: tuple[str, str]) -> _Held:
        held = self._held.get(key)  # no `_Held` made per call when one is there
        if held is None:
            held = self._held[key] = _Held()
        return held

    async def _reserve(
        self, user_id: str, day: str, block: tuple[int, int], quota: Quota
    ) -> QuotaCounter | None:
        self.reservations += 1
        return await self._store.reserve_quota(
            user_id, day, *block, quota.requests_per_day, quota.tokens_per_day
        )

    def _size(self, held: _Held, tokens: int, quota: Quota) -> tuple[int, int]:
        """The block to reserve: the shortfall, grown toward `calls_per_reservation` calls
        while the quota has plenty left."""
        calls = self._block
        if quota.requests_per_day is not None:
            calls = min(calls, (held.left_calls or 0) // SHARE)
        block_tokens = max(calls, 1) * tokens
        if quota.tokens_per_day is not None:
            block_tokens = min(block_tokens, (held.left_tokens or 0) // SHARE)
        need_calls, need_tokens = _shortfall(held, tokens)
        return max(need_calls, calls - held.calls), max(need_tokens, block_tokens - held.tokens)


def _fits(held: _Held, tokens: int, quota: Quota) -> bool:
    """Whether what is held covers one more call (a dimension without a bound always fits)."""
    calls_ok = quota.requests_per_day is None or held.calls >= 1
    return calls_ok and (quota.tokens_per_day is None or held.tokens >= tokens)


def _shortfall(held: _Held, tokens: int) -> tuple[int, int]:
    """Exactly what one call of `tokens` lacks."""
    return max(0, 1 - held.calls), max(0, tokens - held.tokens)


def _learn(held: _Held, counter: QuotaCounter, quota: Quota) -> None:
    if quota.requests_per_day is not None:
        held.left_calls = quota.requests_per_day - counter.requests
    if quota.tokens_per_day is not None:
        held.left_tokens = quota.tokens_per_day - counter.tokens
