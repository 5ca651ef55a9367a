"""Measurement 7: what the usage ledger and a quota cost per request, in-process.

Two mounts on one emulator, each with its own SQLite store (the default store): today's
(the ledger off, no quota) and the metered one (the ledger on, a daily request and token quota
that never refuses, so every call is reserved). Samples alternate between them, as in the
other in-process measurements; the metered mount's store writes and reservations are counted.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from authai_embed import Quota, Quotas, SQLiteStore

from .inprocess import CHAT, Paired, _paired
from .rig import InProcessRig, chat_body, open_rig

__all__ = ["METERED", "MeteringCost", "measure_metering"]

METERED = Quotas(default=Quota(requests_per_day=10**9, tokens_per_day=10**12))
"""A quota every call is checked and reserved against, and none is refused by."""


@dataclass(frozen=True, slots=True)
class MeteringCost:
    """Metered ("ours") against today's ("direct"), ms; and the metered mount's store writes
    per 1,000 requests: ledger flushes and quota reservations."""

    latency: Paired
    ledger_only: Paired
    """The ledger on without a quota ("ours") against today's ("direct")."""
    requests: int
    flushes: int
    reservations: int

    def per_thousand(self, count: int) -> float:
        return count * 1000 / self.requests if self.requests else 0.0


async def _rig(folder: Path, name: str, *, ledger: bool, quota: bool) -> InProcessRig:
    options: dict[str, object] = {"usage_ledger": ledger}
    if quota:
        options["quotas"] = METERED
    return await open_rig(store=SQLiteStore(folder / f"{name}.db"), mount_options=options)


async def measure_metering(count: int, warmup: int) -> MeteringCost:
    """Non-streaming chat completions through both mounts, alternating."""
    with tempfile.TemporaryDirectory(prefix="authai-bench-metering-") as name:
        folder = Path(name)
        plain = await _rig(folder, "plain", ledger=False, quota=False)
        metered = await _rig(folder, "metered", ledger=True, quota=True)
        ledger = await _rig(folder, "ledger", ledger=True, quota=False)
        try:
            metering = metered.authai.metering
            assert metering is not None
            body = chat_body(stream=False)

            def caller(rig: InProcessRig) -> Callable[[], Awaitable[None]]:
                async def call() -> None:
                    response = await rig.ours.post(CHAT, json=body, headers=rig.auth_header)
                    if response.status_code != 200:
                        raise RuntimeError(f"proxy answered {response.status_code}")

                return call

            latency = await _paired(caller(metered), caller(plain), count, warmup)
            await metering.ledger.flush()  # what shutdown would write
            flushes, requests = metering.ledger.flushes, count + warmup
            reservations = metering.reservations
            ledger_only = await _paired(caller(ledger), caller(plain), count, warmup)
            return MeteringCost(latency, ledger_only, requests, flushes, reservations)
        finally:
            await ledger.aclose()
            await metered.aclose()
            await plain.aclose()
