"""The emulated xAI's live settings, read by both its auth host and its model APIs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from authai_embed.testing.device_grants import DeviceKnobs

__all__ = ["XAI_CLIENT_ID", "XAIKnobs"]

XAI_CLIENT_ID = "b1a00492-073a-47ea-816f-4c329264a828"


@dataclass(slots=True)
class XAIKnobs(DeviceKnobs):
    """Live settings of the emulated xAI side; a test may change them at any time."""

    client_id: str = XAI_CLIENT_ID
    device_flow_enabled: bool = True
    discovery_failures: int = 0
    access_ttl: int = 900
    expires_in: Literal["seconds", "absent", "zero"] = "seconds"
    """How token answers state the access lifetime (the token's `exp` claim always does)."""
    revoke_family_on_reuse: bool = True
    revocation_listed: bool = True
    """Discovery lists `revocation_endpoint` (RFC 7009); off, clients cannot revoke tokens."""
    billing: Literal["spending_limit", "free_usage_exhausted"] | None = None
