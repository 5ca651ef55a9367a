"""xAI's model side: the OpenAI-compatible API (`api.x.ai/v1` by default), passed through.

A billing refusal becomes a plain 402 `insufficient_quota`: the API bills the user's xAI credits,
not the SuperGrok subscription. `origin="subscription"` (opt-in, off-label) calls the Grok CLI's
origin instead: it bills the subscription, serves only `/responses` (chat calls are translated)
and wants the CLI's client version (426 without).
"""

from __future__ import annotations

from typing import Any

import httpx

from authai_embed._util.clock import Clock
from authai_embed.credentials import Credentials
from authai_embed.errors import UpstreamError
from authai_embed.providers._cache import ModelCache
from authai_embed.providers._upstream import (
    Failure,
    open_post,
    read_failure,
    send,
    upstream_error,
)
from authai_embed.providers.base import Endpoint, ModelInfo, UpstreamUnauthorized
from authai_embed.providers.xai.config import XAIUpstream

__all__ = ["XAIBackend", "billing_error"]

NAME = "xAI"
SUBSCRIPTION_MODELS = ("grok-4", "grok-code-fast-1")
_BILLING_HINTS = ("credits", "spending limit", "free-usage", "free usage", "billing")
BILLING_MESSAGE = (
    "xAI refused the call for billing: this account's API credits or free usage are exhausted, "
    "or its spending limit is reached. Add credits or raise the limit at https://console.x.ai "
    "(Grok sign-ins use the xAI API allowance, not the SuperGrok subscription)."
)


def billing_error(failure: Failure) -> UpstreamError | None:
    """A clear `insufficient_quota` error for xAI's billing refusals (402, or a 403/429 whose
    message or code speaks of credits or spending limits), else `None`."""
    text = f"{failure.code or ''} {failure.message or ''}".lower()
    billing = failure.status == 402 or (
        failure.status in (403, 429) and any(hint in text for hint in _BILLING_HINTS)
    )
    if not billing:
        return None
    return UpstreamError(BILLING_MESSAGE, status=402, code="insufficient_quota")


class XAIBackend:
    """The `ModelBackend` of Grok sign-ins."""

    default_instructions = "You are a helpful assistant."

    def __init__(self, upstream: XAIUpstream, http: httpx.AsyncClient, clock: Clock) -> None:
        self._upstream = upstream
        self._http = http
        self._clock = clock
        self._subscription = upstream.origin == "subscription"
        self._base = upstream.subscription_base if self._subscription else upstream.api_base
        self._models: ModelCache[list[ModelInfo]] = ModelCache()

    def _headers(self, credentials: Credentials) -> dict[str, str]:
        headers = {"authorization": f"Bearer {credentials.access}"}
        if self._subscription:
            version = self._upstream.cli_version
            headers |= {"user-agent": f"grok-cli/{version}", "x-grok-client-version": version}
        return headers

    async def list_models(self, credentials: Credentials) -> list[ModelInfo]:
        """`GET /models`, cached per account for a few minutes."""
        if self._subscription:
            return [ModelInfo(m, "xai") for m in SUBSCRIPTION_MODELS]
        now = self._clock.now()
        cached = self._models.get(credentials.account_id, now)
        if cached is not None:
            return cached
        request = self._http.build_request(
            "GET",
            f"{self._base}/models",
            headers={**self._headers(credentials), "accept": "application/json"},
        )
        response = await send(self._http, "xAI model list", request)
        if response.status_code == 401:
            raise UpstreamUnauthorized()
        body = response.body if response.is_success else None
        if body is None or not isinstance(body.get("data"), list):
            raise UpstreamError(f"xAI model list failed (status {response.status_code})")
        models = [
            ModelInfo(m["id"], str(m.get("owned_by") or "xai"))
            for m in body["data"]
            if isinstance(m, dict) and isinstance(m.get("id"), str) and m["id"]
        ]
        self._models.put(credentials.account_id, now, models)
        return models

    async def endpoint_for(
        self, credentials: Credentials, model: str, requested: Endpoint
    ) -> Endpoint | None:
        """The API serves both endpoints; the subscription origin only `/responses`."""
        return "responses" if self._subscription else requested

    def responses_payload(self, body: dict[str, Any]) -> dict[str, Any]:
        """xAI takes the Responses body as given (the proxy has typed its input)."""
        return dict(body)

    async def open(
        self,
        credentials: Credentials,
        endpoint: Endpoint,
        payload: dict[str, Any],
        *,
        conversation: str,
    ) -> httpx.Response:
        """POST to `{base}/{endpoint}`; billing refusals become `insufficient_quota`."""
        response = await open_post(
            self._http, f"{self._base}/{endpoint}", self._headers(credentials), payload
        )
        if response.is_success:
            return response
        failure = await read_failure(response)
        if failure.status == 426:
            raise UpstreamError(
                "the Grok CLI origin wants a newer client version (settings.xai.cli_version)",
                status=502,
                code="client_version_rejected",
            )
        raise billing_error(failure) or upstream_error(failure, NAME)
