"""Every Responses object the mount returns carries the fields clients read, filled from the stream.

The ChatGPT backend ends its stream with `output: []` (the items came as `output_item.done`) and
some events lack `object` or `created_at`; the SDKs' `get_final_response()`, langchain,
pydantic-ai, litellm and the Vercel AI SDK read them. What the upstream sent is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["REQUIRED_FIELDS", "ResponseDefaults", "ResponseFiller"]

REQUIRED_FIELDS: Final = ("id", "object", "created_at", "status", "model", "output", "usage")

_STATUS: Final = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}


@dataclass(frozen=True, slots=True)
class ResponseDefaults:
    """What a response object gets where neither it nor an earlier event says."""

    id: str
    created_at: int
    model: str


class ResponseFiller:
    """Watches one Responses stream's events and completes the `response` objects in them."""

    __slots__ = ("_defaults", "_items", "_seen")

    def __init__(self, defaults: ResponseDefaults | None = None) -> None:
        """Without `defaults`, an id, time or model no event gave stays missing."""
        self._defaults = defaults
        self._items: dict[int, Any] = {}
        self._seen: dict[str, Any] = {}

    def observe(self, event: Mapping[str, Any]) -> None:
        """Take one event: finished items, and the ids and times earlier objects gave."""
        if event.get("type") == "response.output_item.done" and "item" in event:
            index = event.get("output_index")
            self._items[index if type(index) is int else len(self._items)] = event["item"]
        response = event.get("response")
        if isinstance(response, Mapping):
            for name in ("id", "created_at", "model"):
                if response.get(name) is not None:
                    self._seen.setdefault(name, response[name])

    def fill(self, response: Mapping[str, Any], event_type: str | None) -> dict[str, Any] | None:
        """`response` completed (`output` from the finished items when it is empty), or `None`
        when nothing was missing. `event_type` chooses the `status` it lacks."""
        missing = [
            name
            for name in REQUIRED_FIELDS
            if (name not in response if name == "usage" else response.get(name) in (None, []))
        ]
        if missing == ["output"] and not self._items:
            return None
        if not missing:
            return None
        filled = dict(response)
        defaults = self._defaults
        for name in missing:
            if name in ("id", "created_at", "model"):
                if name in self._seen:
                    filled[name] = self._seen[name]
                elif defaults is not None:
                    filled[name] = getattr(defaults, name)
            elif name == "object":
                filled["object"] = "response"
            elif name == "status":
                filled["status"] = _STATUS.get(event_type or "", "in_progress")
            elif name == "output":
                filled["output"] = [self._items[i] for i in sorted(self._items)]
            else:
                filled["usage"] = None
        return filled

    def filled(self, response: Mapping[str, Any], event_type: str | None) -> dict[str, Any]:
        """`response` completed, as a new dict whether or not anything was missing."""
        result = self.fill(response, event_type)
        return dict(response) if result is None else result
