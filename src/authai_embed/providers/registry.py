"""Which providers exist, their display names and accepted aliases, and how to build one.

Adding a provider: one module implementing `Provider` and one line in `_FACTORIES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from authai_embed.clock import Clock
from authai_embed.errors import ConfigError
from authai_embed.settings import Settings

from .base import Provider
from .copilot import CopilotProvider
from .openai import OpenAIProvider
from .xai import XAIProvider

__all__ = ["KNOWN_PROVIDERS", "ProviderInfo", "build_providers", "canonical_provider_id"]


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """A provider's canonical id, display name and the aliases accepted on input."""

    id: str
    display_name: str
    aliases: tuple[str, ...]


KNOWN_PROVIDERS: dict[str, ProviderInfo] = {
    "openai": ProviderInfo("openai", "ChatGPT", ("chatgpt", "codex")),
    "xai": ProviderInfo("xai", "Grok", ("grok",)),
    "github": ProviderInfo("github", "GitHub Copilot", ("copilot",)),
}

_ALIASES = {
    alias: info.id for info in KNOWN_PROVIDERS.values() for alias in (info.id, *info.aliases)
}

Factory = Callable[[Settings, httpx.AsyncClient, Clock], Provider]

_FACTORIES: dict[str, Factory] = {
    "openai": lambda s, http, clock: OpenAIProvider(
        s.openai, http, originator=s.originator, clock=clock
    ),
    "github": lambda s, http, clock: CopilotProvider(
        s.github, http, originator=s.originator, clock=clock
    ),
    "xai": lambda s, http, clock: XAIProvider(s.xai, http, originator=s.originator, clock=clock),
}


def canonical_provider_id(name: str) -> str | None:
    """The canonical id for a provider id or alias (case-insensitive), or `None`."""
    return _ALIASES.get(name.strip().lower())


def build_providers(
    settings: Settings, http: httpx.AsyncClient, clock: Clock
) -> dict[str, Provider]:
    """Instantiate the providers `settings.providers` names, in order.

    Raises `ConfigError` for an unknown id or one not implemented yet.
    """
    built: dict[str, Provider] = {}
    for name in settings.providers:
        pid = canonical_provider_id(name)
        if pid is None:
            known = ", ".join(KNOWN_PROVIDERS)
            raise ConfigError(f"unknown provider {name!r} in settings.providers; known: {known}")
        factory = _FACTORIES.get(pid)
        if factory is None:
            raise ConfigError(f"provider {pid!r} is not available in this version yet")
        built[pid] = factory(settings, http, clock)
    return built
