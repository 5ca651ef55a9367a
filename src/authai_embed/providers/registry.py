"""The one table of providers: id, display name, aliases, class and settings section of each.

Adding a provider is one folder (`config.py`, `signin.py`, `backend.py`) and one line in
`_REGISTRY`, plus the `Settings` field named by its id and typed by its config model (explicit,
so a misspelt keyword is an error) and its emulator side for the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from pydantic import BaseModel

from authai_embed._util.clock import Clock
from authai_embed.errors import ConfigError
from authai_embed.providers.base import Provider
from authai_embed.providers.github.config import GitHubUpstream
from authai_embed.providers.github.signin import CopilotProvider
from authai_embed.providers.openai.config import OpenAIUpstream
from authai_embed.providers.openai.signin import OpenAIProvider
from authai_embed.providers.xai.config import XAIUpstream
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
    """A provider class, the aliases accepted for its id on input, and the model of its
    settings section (the `Settings` field named by its id)."""

    cls: ProviderClass
    config: type[BaseModel]
    aliases: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The canonical id, also the name of its `Settings` section."""
        return self.cls.id

    @property
    def display_name(self) -> str:
        """The name shown to users."""
        return self.cls.display_name

    def build(self, settings: Settings, http: httpx.AsyncClient, clock: Clock) -> Provider:
        """The provider, configured by its section of `settings`."""
        section = getattr(settings, self.id)
        return self.cls(section, http, originator=settings.originator, clock=clock)


_REGISTRY = (
    ProviderInfo(OpenAIProvider, OpenAIUpstream, aliases=("chatgpt", "codex")),
    ProviderInfo(XAIProvider, XAIUpstream, aliases=("grok",)),
    ProviderInfo(CopilotProvider, GitHubUpstream, aliases=("copilot",)),
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
