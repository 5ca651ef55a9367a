"""`Settings.xai`: where the xAI (Grok) provider talks to (upstream.md section 5)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from authai_embed.providers.base import UpstreamURL

__all__ = ["XAIUpstream"]


class XAIUpstream(BaseModel):
    """Where the xAI (Grok) provider talks to. Defaults are the real servers and the Grok CLI's
    public client (upstream.md section 5).

    `origin="api"` (default) calls the OpenAI-compatible `api_base`, billed to the user's xAI API
    credits. `origin="subscription"` calls the Grok CLI's own origin, billed to the SuperGrok
    subscription: off-label, impersonates the CLI, may break or be blocked at any time.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: UpstreamURL = "https://auth.x.ai"
    client_id: str = "b1a00492-073a-47ea-816f-4c329264a828"
    scope: str = "openid profile email offline_access grok-cli:access api:access"
    api_base: UpstreamURL = "https://api.x.ai/v1"
    origin: Literal["api", "subscription"] = "api"
    subscription_base: UpstreamURL = "https://cli-chat-proxy.grok.com/v1"
    cli_version: str = "0.1.0"
    """Sent as the Grok CLI's client version to the subscription origin (it answers 426 without)."""
