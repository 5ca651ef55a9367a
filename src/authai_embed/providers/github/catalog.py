"""What the Copilot catalog says of a model, and which endpoint serves a call to it.

Copilot's `GET /models` lists each model's `supported_endpoints` and its `billing` (whether a
call spends premium requests, and how many). The list is not always right: some models listed
for chat answer `400 unsupported_api_for_model` there and work on `/responses` only. The proxy
retries such a call there once, and `ResponsesOnly` remembers the model so its later calls go
straight to `/responses`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final, TypeGuard

from authai_embed.providers.base import Endpoint

__all__ = ["CHAT", "RESPONSES", "CopilotModel", "ResponsesOnly", "parse_catalog", "serving"]

CHAT: Final = "/chat/completions"
RESPONSES: Final = "/responses"
_LEARNED_LIMIT: Final = 1024


@dataclass(frozen=True, slots=True)
class CopilotModel:
    """One catalog entry: the endpoints it lists (none: unrestricted) and what a user turn on
    it costs in premium requests (`premium` False: nothing)."""

    endpoints: tuple[str, ...]
    premium: bool = False
    multiplier: float = 0.0


def parse_catalog(data: list[Any]) -> dict[str, CopilotModel]:
    """model id → entry, for the models served on chat completions or responses."""
    catalog: dict[str, CopilotModel] = {}
    for model in data:
        if not isinstance(model, dict) or not isinstance(model.get("id"), str):
            continue
        raw = model.get("supported_endpoints") or []
        endpoints = tuple(e for e in raw if isinstance(e, str)) if isinstance(raw, list) else ()
        if endpoints and not {CHAT, RESPONSES} & set(endpoints):
            continue
        billing = model.get("billing")
        premium = isinstance(billing, dict) and billing.get("is_premium") is True
        stated = billing.get("multiplier") if isinstance(billing, dict) else None
        # Premium without a stated weight: one request a turn.
        multiplier = float(stated) if _weight(stated) else 1.0 if premium else 0.0
        catalog[model["id"]] = CopilotModel(endpoints, premium, multiplier)
    return catalog


def _weight(value: Any) -> TypeGuard[float]:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= 1000
    )


def serving(
    entry: CopilotModel | None, requested: Endpoint, *, responses_only: bool
) -> Endpoint | None:
    """The endpoint for a `requested` call: chat passes through, or is translated for a
    `/responses`-only model; `/responses` only for models that list it (or were found to be
    served there only); `None` when neither serves it."""
    if responses_only:
        return "responses"
    if entry is None or not entry.endpoints:  # unknown or unrestricted: chat only
        return "chat/completions" if requested == "chat/completions" else None
    if requested == "responses":
        return "responses" if RESPONSES in entry.endpoints else None
    if CHAT in entry.endpoints:
        return "chat/completions"
    return "responses" if RESPONSES in entry.endpoints else None


class ResponsesOnly:
    """Models found to answer chat completions with `unsupported_api_for_model`: the most
    recently used `limit` of them, so the memory cannot grow with the names callers send."""

    def __init__(self, limit: int = _LEARNED_LIMIT) -> None:
        self._limit = limit
        self._models: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, model: str) -> bool:
        if model not in self._models:
            return False
        self._models.move_to_end(model)
        return True

    def add(self, model: str) -> None:
        """Remember `model` (the least recently used one goes when full)."""
        self._models[model] = None
        self._models.move_to_end(model)
        while len(self._models) > self._limit:
            self._models.popitem(last=False)

    def discard(self, model: str) -> None:
        """Forget `model` (it is served on neither endpoint)."""
        self._models.pop(model, None)
