"""The providers the conformance suite runs against, and how to look at each one's upstream.

`github-responses` is GitHub Copilot with a model Copilot serves only on `/responses`: chat
calls are translated as for ChatGPT. The others are ChatGPT (translated) and the two
pass-through providers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authai_embed.testing import Emulator
from authai_embed.testing.codex.backend import CodexBackend
from authai_embed.testing.model.chat import ChatModel


@dataclass(frozen=True)
class Target:
    """One provider (and model) under test."""

    name: str
    provider: str
    model: str
    translated: bool
    """Chat calls go upstream as Responses calls (else they pass through as they are)."""

    def upstream(self, emulator: Emulator) -> CodexBackend | ChatModel:
        """The emulated model API this target calls: scripts, knobs, stats, recorded calls."""
        if self.provider == "github":
            return emulator.github.model
        if self.provider == "xai":
            return emulator.xai.model
        return emulator.codex

    def last_body(self, emulator: Emulator) -> dict[str, Any]:
        """The JSON body of the latest model call."""
        upstream = self.upstream(emulator)
        record = upstream.last_request()
        assert isinstance(record.body, dict)
        return record.body


TARGETS = [
    Target("openai", "openai", "gpt-5.4", translated=True),
    Target("github", "github", "gpt-5.4", translated=False),
    Target("github-responses", "github", "gpt-5.4-codex", translated=True),
    Target("xai", "xai", "grok-4", translated=False),
]
