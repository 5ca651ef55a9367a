"""Which providers exist, their display names and accepted aliases, and how to build one.

Adding a provider: one module with a class implementing `Provider` (class attributes `id` and
`display_name`, constructor `(upstream settings, http, *, originator, clock)`) and one line in
`_REGISTRY` naming it, its aliases and its upstream settings (plus that settings field and its
emulator side).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from authai_embed._util.clock import Clock
from authai_embed.errors import ConfigError
from authai_embed.providers.base import Provider
from authai_embed.providers.github.signin import CopilotProvider
from authai_embed.providers.openai.signin import OpenAIProvider
from authai_embed.providers.xai.signin import XAIProvider
from authai_embed.settings import Settings

__all__ = ["KNOWN_PROVIDERS", "ProviderInfo", "build_providers", "canonical_provider_id"]


class ProviderClass(Protocol):
    """What the registry needs of a provider class."""

    id: str
    display_name: str

    def __call__(
        self, upstream: Any, http: httpx.AsyncClient, *, originator: str, clock: Clock
    ) -> Provider: ...


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """A provider's canonical id, display name, the aliases accepted on input, and how to build
    it from the settings."""

    id: str
    display_name: str
    aliases: tuple[str, ...]
    build: Callable[[Settings, httpx.AsyncClient, Clock], Provider]


def _entry(
    cls: ProviderClass, aliases: tuple[str, ...], upstream: Callable[[Settings], Any]
) -> ProviderInfo:
    def build(settings: Settings, http: httpx.AsyncClient, clock: Clock) -> Provider:
        return cls(upstream(settings), http, originator=settings.originator, clock=clock)

    return ProviderInfo(cls.id, cls.display_name, aliases, build)


_REGISTRY = (
    _entry(OpenAIProvider, ("chatgpt", "codex"), lambda s: s.openai),
    _entry(XAIProvider, ("grok",), lambda s: s.xai),
    _entry(CopilotProvider, ("copilot",), lambda s: s.github),
)

KNOWN_PROVIDERS: dict[str, ProviderInfo] = {info.id: info for info in _REGISTRY}

_ALIASES = {
    alias: info.id for info in KNOWN_PROVIDERS.values() for alias in (info.id, *info.aliases)
}


def canonical_provider_id(name: str) -> str | None:
    """The canonical id for a provider id or alias (case-insensitive), or `None`."""
    return _ALIASES.get(name.strip().lower())


def build_providers(
    settings: Settings, http: httpx.AsyncClient, clock: Clock
) -> dict[str, Provider]:
    """Instantiate the providers `settings.providers` names, in order.

    Raises `ConfigError` for an unknown id.
    """
    built: dict[str, Provider] = {}
    for name in settings.providers:
        pid = canonical_provider_id(name)
        if pid is None:
            known = ", ".join(KNOWN_PROVIDERS)
            raise ConfigError(f"unknown provider {name!r} in settings.providers; known: {known}")
        built[pid] = KNOWN_PROVIDERS[pid].build(settings, http, clock)
    return built
