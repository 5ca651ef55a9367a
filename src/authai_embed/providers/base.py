"""The provider seam: a sign-in (`Provider`) and the model API it hands out (`ModelBackend`).

Every provider here signs in with a device-code flow; one step may make several upstream calls
(GitHub checks the Copilot entitlement before it reports completion). The proxy asks the backend
which endpoint serves a call (the same: pass-through; `responses`: translated; none: refused),
then opens it; translation and relaying live in the proxy, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol

import httpx
from pydantic import AfterValidator

from authai_embed.credentials import Credentials
from authai_embed.errors import UpstreamError

__all__ = [
    "DevicePoll",
    "DeviceStart",
    "Endpoint",
    "ModelBackend",
    "ModelInfo",
    "PollStatus",
    "Provider",
    "UpstreamURL",
    "UpstreamUnauthorized",
]

Endpoint = Literal["chat/completions", "responses"]
"""An upstream model endpoint, relative to the provider's API base."""


def _http_url(url: str) -> str:
    if not url.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return url.rstrip("/")


UpstreamURL = Annotated[str, AfterValidator(_http_url)]
"""A URL in a provider's settings section (`config.py`): http(s), kept without a final slash."""

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
    provider asked to slow down to a given interval; `message` explains a denial, `code` names
    it when it is one the wire distinguishes (`device_code_disabled`), `help_url` links what to
    do about it."""

    status: PollStatus
    credentials: Credentials | None = None
    interval: float | None = None
    message: str | None = None
    code: str | None = None
    help_url: str | None = None


class UpstreamUnauthorized(UpstreamError):
    """The provider refused the user's token on a model call: refresh the record, retry once."""

    def __init__(self) -> None:
        super().__init__("the provider refused the access token", status=401)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model the user may call: its id and who makes it (OpenAI's `owned_by`)."""

    id: str
    owned_by: str


class ModelBackend(Protocol):
    """A provider's model API as the proxy uses it. Every method raises `UpstreamUnauthorized`
    when the user's token is refused (the proxy refreshes and retries once) and `UpstreamError`
    for every other failure; none of them ever puts a token in a message."""

    default_instructions: str
    """The instructions a translated chat call carries when it has no system message."""

    async def list_models(self, credentials: Credentials) -> list[ModelInfo]:
        """The models the user may call through `/v1/chat/completions` or `/v1/responses`."""
        ...

    async def endpoint_for(
        self, credentials: Credentials, model: str, requested: Endpoint
    ) -> Endpoint | None:
        """The upstream endpoint serving a `requested` call to `model`: `requested` itself
        (pass-through), `"responses"` for a chat call (translated), or `None` (not served)."""
        ...

    def responses_payload(self, body: dict[str, Any]) -> dict[str, Any]:
        """The upstream body for a `/v1/responses` call: `body`, or a copy with what this
        upstream requires (a `stream: true` here makes the proxy aggregate for the caller)."""
        ...

    async def open(
        self,
        credentials: Credentials,
        endpoint: Endpoint,
        payload: dict[str, Any],
        *,
        conversation: str,
    ) -> httpx.Response:
        """POST `payload` to `endpoint`; return the open 2xx response (the caller reads and
        closes it). `conversation` is a stable id per chat, for upstream prompt caches."""
        ...


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
        """Exchange the refresh token for fresh credentials (the refresh token may rotate).
        A provider without refresh tokens raises `Unauthorized` (the user signs in again)."""
        ...

    async def revoke(self, credentials: Credentials) -> None:
        """Ask the provider to revoke the tokens at sign-out, where it lets a client do so (a
        no-op otherwise). Best effort: the caller bounds it in time and ignores its failures."""
        ...

    @property
    def backend(self) -> ModelBackend:
        """The model API behind this provider's sign-ins."""
        ...
