"""Delivers events to the host's `webhook_url`: signed JSON, retried with backoff, bounded.

An `on_event` handler like any other, except that it only enqueues: its own task posts, so a
slow receiver holds up neither requests nor the other handlers. Each event gets up to
`ATTEMPTS` tries, `FIRST_DELAY` seconds apart and doubling; a 2xx is done, another 4xx (but
408/429) is given up at once. Nothing logged names more than the event's type and the status.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from typing import Final

import httpx

from authai_embed._util.clock import Clock, SystemClock
from authai_embed._util.logs import get_logger
from authai_embed.events import Event, event_payload
from authai_embed.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, sign_webhook

__all__ = ["ATTEMPTS", "FIRST_DELAY", "WebhookSender"]

logger = get_logger("webhooks")

ATTEMPTS: Final = 5
"""Tries per event (the first and four retries)."""
FIRST_DELAY: Final = 1.0
"""Seconds before the first retry; each next one waits twice as long (1, 2, 4, 8 s)."""
MAX_QUEUE: Final = 1000
"""Events waiting for delivery at most; past it new ones are dropped (and logged)."""
TIMEOUT: Final = 10.0
"""Seconds one delivery attempt may take."""


class WebhookSender:
    """Posts each event it is handed to `url`, signed with `secret`."""

    __slots__ = (
        "_clock",
        "_owned",
        "_queue",
        "_secret",
        "_task",
        "attempts",
        "client",
        "dropped",
        "first_delay",
        "url",
    )

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        max_queue: int = MAX_QUEUE,
    ) -> None:
        self.url = url
        self._secret = secret
        self.client = client  # made at start when None, and then closed at stop
        self._owned = False
        self._clock = clock if clock is not None else SystemClock()
        self._queue: asyncio.Queue[Event] = asyncio.Queue(max_queue)
        self._task: asyncio.Task[None] | None = None
        self.attempts = ATTEMPTS
        self.first_delay = FIRST_DELAY
        self.dropped = 0

    async def __call__(self, event: Event) -> None:
        """Queue `event` for delivery (the bus calls this like any handler)."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            logger.warning("webhook queue full: dropped a %s event", event.type)

    def start(self) -> None:
        """Start the delivery task on the running loop. Idempotent."""
        if self._task is None:
            if self.client is None:
                self.client = httpx.AsyncClient(timeout=TIMEOUT)
                self._owned = True
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def flush(self) -> None:
        """Wait until every queued event is delivered or given up on."""
        if self._task is not None:
            await self._queue.join()

    async def stop(self, within: float) -> None:
        """Deliver what is queued (at most `within` seconds), then stop. Idempotent."""
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), within)
        except TimeoutError:
            logger.warning("shutdown: %d webhook deliveries were dropped", self._queue.qsize())
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if self._owned and self.client is not None:
            await self.client.aclose()
            self.client, self._owned = None, False

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._deliver(event)
            except Exception as exc:  # pragma: no cover - _deliver handles what it expects
                logger.warning("webhook delivery of %s failed: %s", event.type, type(exc).__name__)
            finally:
                self._queue.task_done()

    async def _deliver(self, event: Event) -> None:
        body = json.dumps(event_payload(event), separators=(",", ":")).encode()
        delivery = secrets.token_hex(16)
        delay = self.first_delay
        assert self.client is not None  # started
        for attempt in range(1, self.attempts + 1):
            signature = sign_webhook(body, self._secret, int(self._clock.now()))
            headers = {
                "content-type": "application/json",
                SIGNATURE_HEADER: signature,
                DELIVERY_HEADER: delivery,
                "user-agent": "authai-embed-webhook",
            }
            try:
                response = await self.client.post(self.url, content=body, headers=headers)
                status: int | str = response.status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            if isinstance(status, int) and 200 <= status < 300:
                return
            final = isinstance(status, int) and 400 <= status < 500 and status not in (408, 429)
            if final or attempt == self.attempts:
                logger.warning(
                    "webhook gave up on a %s event after %d attempts: %s",
                    event.type,
                    attempt,
                    status,
                )
                return
            await asyncio.sleep(delay)
            delay *= 2
