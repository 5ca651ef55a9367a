"""`Settings.openai`: where the ChatGPT (Codex) provider talks to (upstream.md section 1)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from authai_embed.providers.base import UpstreamURL

__all__ = ["OpenAIUpstream"]


class OpenAIUpstream(BaseModel):
    """Where the ChatGPT (Codex) provider talks to. Defaults are the real servers."""

    model_config = ConfigDict(frozen=True)

    issuer: UpstreamURL = "https://auth.openai.com"
    client_id: str = "app_EMoamEEZ73f0CkXaXp7hrann"
    api_base: UpstreamURL = "https://chatgpt.com/backend-api/codex"
    user_agent: str = "codex_cli_rs/0.63.0"
    client_version: str = "0.63.0"
    security_settings_url: UpstreamURL = "https://chatgpt.com/security-settings"
    """Where a user turns device-code sign-in on; sign-in errors that need it link here."""

    @property
    def verification_url(self) -> str:
        """The page where the user types the code (not returned by the API; the CLI derives it)."""
        return f"{self.issuer}/codex/device"
