"""What an emulated model API was sent and how its streams ended, for tests to inspect."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from authai_embed.asgi.http import Request

__all__ = ["CodexStats", "RecordedRequest"]


@dataclass(slots=True)
class RecordedRequest:
    """One call to the model backend as it arrived (every header but `Authorization`)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    """The parsed JSON body; `None` for a GET or a body that did not parse."""
    status: int = 0
    """The status answered (200 for a stream, even one scripted to fail inside)."""

    @classmethod
    def of(cls, request: Request, body: Any = None) -> RecordedRequest:
        """`request` as recorded: every header but `Authorization`, so records hold no token."""
        headers = {k: v for k, v in request.headers.items() if k != "authorization"}
        return cls(request.method, request.path, request.query, headers, body)


@dataclass(slots=True)
class CodexStats:
    """Counters for tests: what was asked, how each stream ended."""

    requests: int = 0
    """Calls to `/responses`, accepted or not."""
    rejected: int = 0
    """Calls to `/responses` answered with an HTTP error before any stream."""
    model_lists: int = 0
    """Calls to `/models`."""
    streams: int = 0
    """Streams started (the generator began producing events)."""
    completed_streams: int = 0
    """Streams the server ran to their scripted end (including scripted failures and cuts)."""
    cancelled_streams: int = 0
    """Streams that stopped early because the client went away or cancelled the request."""
    open_streams: int = 0
    """Streams producing events right now."""
    events: list[str] = field(default_factory=list)
    """The `type` of every SSE event sent, all streams together, in order."""

    @contextmanager
    def streaming(self) -> Iterator[None]:
        """Count one stream around the sending of its events: `completed_streams` if the block
        ends, `cancelled_streams` if it is left early (the client went away or cancelled)."""
        self.streams += 1
        self.open_streams += 1
        finished = False
        try:
            yield
            finished = True
        finally:
            self.open_streams -= 1
            if finished:
                self.completed_streams += 1
            else:
                self.cancelled_streams += 1
