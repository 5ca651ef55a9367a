"""The provider seam: how a sign-in is started, polled and refreshed.

Every provider implemented here uses a device-code flow (ChatGPT's own, GitHub's and xAI's RFC
8628 flows), so the protocol is: start a login, poll it with the state the start returned, refresh
credentials. A provider may do several upstream calls inside one step (GitHub checks the Copilot
entitlement before it reports completion); the caller only sees the outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from authai_embed.credentials import Credentials

__all__ = ["DevicePoll", "DeviceStart", "PollStatus", "Provider"]

PollStatus = Literal["pending", "slow_down", "complete", "denied", "expired"]


@dataclass(frozen=True, slots=True)
class DeviceStart:
    """A device login the provider opened: what to show the user and what to poll with.

    `state` is private to the provider (device codes); it is sealed before it is stored.
    """

    user_code: str
    verification_url: str
    interval: float
    expires_in: float
    state: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class DevicePoll:
    """One poll's outcome. `credentials` is set when `status == "complete"`; `interval` when the
    provider asked to slow down to a given interval; `message` explains a denial."""

    status: PollStatus
    credentials: Credentials | None = None
    interval: float | None = None
    message: str | None = None


class Provider(Protocol):
    """A sign-in provider. Implementations raise `UpstreamError` when the provider fails (its
    message never contains a token) and `Unauthorized` when a refresh is rejected for good."""

    @property
    def id(self) -> str:
        """The canonical provider id (`openai`, `github`, `xai`)."""
        ...

    @property
    def display_name(self) -> str:
        """The name shown to users ("ChatGPT")."""
        ...

    async def start_device_login(self) -> DeviceStart:
        """Ask the provider for a user code."""
        ...

    async def poll_device_login(self, state: Mapping[str, str]) -> DevicePoll:
        """Ask the provider once whether the user has approved."""
        ...

    async def refresh(self, credentials: Credentials) -> Credentials:
        """Exchange the refresh token for fresh credentials (the refresh token may rotate)."""
        ...
