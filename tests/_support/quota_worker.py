"""A worker process for the cross-process quota test: its own `AuthAI` with a daily request
quota on the shared store, sending concurrent calls for one user (see `storm.py`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio

from authai_embed import Quota, Quotas
from tests._support.storm import WorkerSpec, call_proxy


def quota_worker(spec: WorkerSpec, jwt: str, count: int, limit: int, out: str, start: Any) -> None:
    """Open the store, wait for the others, send `count` concurrent calls under a quota of
    `limit` requests a day, write their statuses as JSON to `out`; shut down (the ledger's
    last flush)."""

    async def run() -> list[int]:
        authai = spec.authai(quotas=Quotas(default=Quota(requests_per_day=limit)))
        await authai.startup()
        try:
            await anyio.to_thread.run_sync(start.wait)
            return [r["status"] for r in await call_proxy(authai, jwt, count, spec.provider)]
        finally:
            await authai.shutdown()

    Path(out).write_text(json.dumps(anyio.run(run)))
