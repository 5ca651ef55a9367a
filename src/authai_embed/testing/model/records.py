"""What an emulated model API was sent and how its streams ended, for tests to inspect."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
