"""`Settings.github`: where the GitHub Copilot provider talks to (upstream.md section 4)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from authai_embed.providers.base import UpstreamURL

__all__ = ["GitHubUpstream"]


class GitHubUpstream(BaseModel):
    """Where the GitHub Copilot provider talks to. Defaults are the real servers and the Copilot
    editor extension's public client id (upstream.md section 4)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    web_base: UpstreamURL = "https://github.com"
    """Device-code and OAuth endpoints (`/login/device/code`, `/login/oauth/access_token`)."""
    api_base: UpstreamURL = "https://api.github.com"
    """`/user` and the Copilot token exchange (`/copilot_internal/v2/token`)."""
    client_id: str = "Iv1.b507a08c87ecfe98"
    scope: str = "read:user"
    editor_version: str = "vscode/1.107.0"
    plugin_version: str = "copilot-chat/0.35.0"
    user_agent: str = "GitHubCopilotChat/0.35.0"
    integration_id: str = "vscode-chat"
    api_hosts: tuple[str, ...] = ("*.githubcopilot.com",)
    """Hosts the Copilot token endpoint's `endpoints.api` may name (`*.` matches subdomains);
    the host of `api_base` is always allowed. Copilot tokens go there: nothing else is used."""

    @property
    def verification_url(self) -> str:
        """Where the user types the code when GitHub's answer names none."""
        return f"{self.web_base}/login/device"
