"""The registry is the one list of providers: each entry's settings section is the `Settings`
field named by its id, typed by the config model the entry names, and every section has an entry."""

from __future__ import annotations

from pydantic import BaseModel

from authai_embed.providers.registry import KNOWN_PROVIDERS, canonical_provider_id
from authai_embed.settings import Settings


def test_every_provider_has_its_settings_section_and_every_section_its_provider() -> None:
    for pid, info in KNOWN_PROVIDERS.items():
        assert Settings.model_fields[pid].annotation is info.config
        assert isinstance(getattr(Settings(), pid), info.config)
    sections = {
        name
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    }
    assert sections == set(KNOWN_PROVIDERS)


def test_aliases_name_their_provider() -> None:
    for pid, info in KNOWN_PROVIDERS.items():
        for alias in (pid, *info.aliases):
            assert canonical_provider_id(f" {alias.upper()} ") == pid
    assert canonical_provider_id("nobody") is None
