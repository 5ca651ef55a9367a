"""Model calls to the ChatGPT Codex backend: the Responses stream and the model catalog.

The backend only streams (`stream: true`, `store: false`); callers translate or aggregate the
stream. Errors go through the shared mapper (`providers/_upstream`) with one hook of its own: a
429 is the plan's usage limit, answered with when it resets (`retry_after`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from authai_embed._util.clock import Clock
from authai_embed.credentials import Credentials
from authai_embed.errors import UpstreamError
from authai_embed.providers._cache import ModelCache
from authai_embed.providers._upstream import (
    MAX_RETRY_AFTER,
    Failure,
    open_post,
    read_failure,
    send,
    upstream_error,
)
from authai_embed.providers.base import Endpoint, ModelInfo, UpstreamUnauthorized
from authai_embed.providers.openai.config import OpenAIUpstream

__all__ = ["DEFAULT_INSTRUCTIONS", "FALLBACK_MODELS", "CodexBackend", "UpstreamUnauthorized"]

DEFAULT_INSTRUCTIONS = "You are a helpful assistant."
_RESPONSES_DROPPED = (
    "max_output_tokens",
    "temperature",
    "top_p",
    "metadata",
    "user",
    "service_tier",
)

FALLBACK_MODELS = (
    "gpt-5.4",
    "gpt-5.4-mini",
    "gpt-5.4-pro",
    "gpt-5.4-codex",
    "gpt-5.5",
    "gpt-5.5-pro",
)


class CodexBackend:
    """HTTP client of `{api_base}/responses` and `{api_base}/models` for one `AuthAI`: the
    `ModelBackend` of ChatGPT sign-ins. Chat calls are translated; the backend only streams."""

    default_instructions = DEFAULT_INSTRUCTIONS

    def __init__(
        self, upstream: OpenAIUpstream, http: httpx.AsyncClient, *, originator: str, clock: Clock
    ) -> None:
        self._upstream = upstream
        self._http = http
        self._originator = originator
        self._clock = clock
        self._models: ModelCache[list[dict[str, Any]]] = ModelCache()
        # Parsed once: httpx would re-parse a string URL on every request.
        self._responses_url = httpx.URL(f"{upstream.api_base}/responses")

    def _headers(self, credentials: Credentials, session_id: str | None) -> dict[str, str]:
        headers = {
            "authorization": f"Bearer {credentials.access}",
            "chatgpt-account-id": credentials.account_id,
            "openai-beta": "responses=experimental",
            "originator": self._originator,
            "user-agent": self._upstream.user_agent,
            "accept": "text/event-stream",
            # The stream is read raw (never buffered): ask for it uncompressed.
            "accept-encoding": "identity",
        }
        if session_id:
            headers["session_id"] = session_id
        return headers

    async def endpoint_for(
        self, credentials: Credentials, model: str, requested: Endpoint
    ) -> Endpoint | None:
        """Everything goes to `/responses`: chat calls are translated."""
        return "responses"

    def responses_payload(self, body: dict[str, Any]) -> dict[str, Any]:
        """The caller's Responses body with what the backend requires: `stream: true`,
        `store: false`, instructions, `developer` for `system` messages (it refuses those);
        parameters it rejects dropped."""
        payload = {k: v for k, v in body.items() if k not in _RESPONSES_DROPPED}
        if isinstance(payload.get("input"), list):
            payload["input"] = [_no_system(item) for item in payload["input"]]
        payload["store"] = False
        payload["stream"] = True
        instructions = payload.get("instructions")
        if not isinstance(instructions, str) or not instructions:
            payload["instructions"] = DEFAULT_INSTRUCTIONS
        return payload

    async def open(
        self,
        credentials: Credentials,
        endpoint: Endpoint,
        payload: dict[str, Any],
        *,
        conversation: str,
    ) -> httpx.Response:
        """Open the Responses stream; the conversation id keys the backend's prompt cache."""
        payload.setdefault("prompt_cache_key", conversation)
        return await self.open_stream(credentials, payload, session_id=conversation)

    async def open_stream(
        self, credentials: Credentials, payload: dict[str, Any], *, session_id: str | None
    ) -> httpx.Response:
        """POST the Responses request and return the open streaming response (status 200).

        The caller must `aclose()` it. Raises `UpstreamUnauthorized` on 401 and `UpstreamError`
        for every other failure.
        """
        headers = self._headers(credentials, session_id)
        response = await open_post(self._http, self._responses_url, headers, payload)
        if response.status_code == 200:
            return response
        failure = await read_failure(response)
        if failure.status == 429:
            raise self._usage_limit(failure)
        raise upstream_error(failure)

    async def list_models(self, credentials: Credentials) -> list[ModelInfo]:
        """The models the account may use (`visibility == "list"`), cached per account for a
        few minutes; the built-in list when the catalog cannot be had."""
        return [ModelInfo(m["slug"], "openai") for m in await self._catalog(credentials)]

    async def _catalog(self, credentials: Credentials) -> list[dict[str, Any]]:
        now = self._clock.now()
        cached = self._models.get(credentials.account_id, now)
        if cached is not None:
            return cached
        request = self._http.build_request(
            "GET",
            f"{self._upstream.api_base}/models",
            params={"client_version": self._upstream.client_version},
            headers=self._headers(credentials, None) | {"accept": "application/json"},
        )
        try:
            response = await send(self._http, "model list", request)
        except UpstreamError:
            response = None
        models = _listed_models(response.body) if response is not None else None
        if response is not None and response.status_code == 401:
            raise UpstreamUnauthorized()
        if not models:
            return [{"slug": slug} for slug in FALLBACK_MODELS]
        self._models.put(credentials.account_id, now, models)
        return models

    def _usage_limit(self, failure: Failure) -> UpstreamError:
        """A 429 is the plan's usage limit: say when it resets, and wait until then."""
        wait = self._retry_after(failure.error, failure.retry_after)
        plan = failure.error.get("plan_type")
        when = datetime.fromtimestamp(self._clock.now() + wait, UTC)
        usage = f"the {plan} plan's" if isinstance(plan, str) else "the plan's"
        return UpstreamError(
            f"{usage} ChatGPT usage limit is reached; it resets at "
            f"{when.strftime('%Y-%m-%d %H:%M UTC')}",
            status=429,
            code=failure.code or "usage_limit_reached",
            retry_after=wait,
        )

    def _retry_after(self, err: Mapping[str, Any], header: int | None) -> int:
        now = self._clock.now()
        for value in (err.get("resets_in_seconds"), _minus(err.get("resets_at"), now)):
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                return max(1, min(int(value + 0.999), MAX_RETRY_AFTER))
        return header or 60


def _no_system(item: Any) -> Any:
    """A `system` message as the `developer` message the backend takes (the Codex CLI's role
    for instructions); 400 "System messages are not allowed" otherwise."""
    if isinstance(item, dict) and item.get("role") == "system":
        return {**item, "role": "developer"}
    return item


def _minus(value: Any, now: float) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) - now
    return None


def _listed_models(body: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    if body is None or not isinstance(body.get("models"), list):
        return None
    return [
        m
        for m in body["models"]
        if isinstance(m, dict) and isinstance(m.get("slug"), str) and m.get("visibility") == "list"
    ]
