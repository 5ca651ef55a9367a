"""`Settings.openai`: where the ChatGPT (Codex) provider talks to (upstream.md section 1)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from authai_embed.providers.base import UpstreamURL

__all__ = ["OpenAIUpstream"]


class OpenAIUpstream(BaseModel):
    """Where the ChatGPT (Codex) provider talks to. Defaults are the real servers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: UpstreamURL = "https://auth.openai.com"
    client_id: str = "app_EMoamEEZ73f0CkXaXp7hrann"
    api_base: UpstreamURL = "https://chatgpt.com/backend-api/codex"
    user_agent: str = "codex_cli_rs/0.160.0"
    """Sent as `User-Agent` on every call: the Codex CLI's, so the backend treats the calls as
    its own (docs/providers.md); keep its version in step with `client_version`."""
    client_version: str = "0.160.0"
    """Asked of the model catalog (`/models?client_version=`): the backend hides the models
    whose `minimal_client_version` is above it, so an old value hides the newest models."""
    security_settings_url: UpstreamURL = "https://chatgpt.com/security-settings"
    """Where a user turns device-code sign-in on; sign-in errors that need it link here."""

    @property
    def verification_url(self) -> str:
        """The page where the user types the code (not returned by the API; the CLI derives it)."""
        return f"{self.issuer}/codex/device"
