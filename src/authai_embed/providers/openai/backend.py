"""Model calls to the ChatGPT Codex backend: the Responses stream and the model catalog.

The backend only streams (`stream: true`, `store: false`); callers translate or aggregate the
stream. Each call is fit to its model's catalog entry (`shaping.py`). Errors go through the
shared mapper (`providers/_upstream`) with one hook of its own: a 429 (or a 404 saying
`usage_limit_reached`/`usage_not_included`) is the plan's usage limit, answered as a 429 with
when it resets. Each answer's `x-codex-*` headers update the account's `UsageSnapshot`.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from typing import Any

import httpx

from authai_embed._util.clock import Clock
from authai_embed.credentials import Credentials
from authai_embed.errors import UpstreamError
from authai_embed.providers._cache import ModelCache
from authai_embed.providers._upstream import (
    Failure,
    jwt_claims,
    open_post,
    read_failure,
    send,
    upstream_error,
    usage_wait,
)
from authai_embed.providers.base import Endpoint, ModelInfo, UpstreamUnauthorized
from authai_embed.providers.openai.config import OpenAIUpstream
from authai_embed.providers.openai.limits import (
    SNAPSHOT_LIMIT,
    LimitWindow,
    UsageSnapshot,
    UsageSnapshots,
    codex_headers,
)
from authai_embed.providers.openai.shaping import (
    LITE_HEADER,
    ModelTraits,
    shape_for_model,
    traits_of,
)
from authai_embed.providers.openai.usage import limits_from_snapshot, parse_usage, usage_url
from authai_embed.providers.plan import PlanLimits

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "FALLBACK_MODELS",
    "FEDRAMP_HEADER",
    "CodexBackend",
    "UpstreamUnauthorized",
]

DEFAULT_INSTRUCTIONS = "You are a helpful assistant."
_RESPONSES_DROPPED = (
    "max_output_tokens",
    "temperature",
    "top_p",
    "metadata",
    "user",
    "service_tier",
)

FEDRAMP_HEADER = "x-openai-fedramp"
"""Sent (`true`) for FedRAMP accounts, as the Codex CLI does: the backend serves them apart."""

FALLBACK_MODELS = (
    "gpt-5.4",
    "gpt-5.4-mini",
    "gpt-5.4-pro",
    "gpt-5.4-codex",
    "gpt-5.5",
    "gpt-5.5-pro",
)
FALLBACK_TTL = 30.0
"""Seconds the built-in list stands in for a catalog that could not be had before it is asked
for again."""
USAGE_LIMIT_CODES = frozenset({"usage_limit_reached", "usage_not_included"})
"""Error codes of the plan's usage limit; the backend has been seen to send them under a 404."""
_AUTH_CLAIM = "https://api.openai.com/auth"


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
        # A catalog that could not be had is not asked for again at once: every model call
        # reads the catalog, and would otherwise cost the backend one more request each.
        self._fallback: ModelCache[list[dict[str, Any]]] = ModelCache(ttl=FALLBACK_TTL)
        self._usage = UsageSnapshots()
        # Each account's plan type with the signed part (header and claims, never the
        # signature) of the token it was read from: every answer with usage headers wants it,
        # and decoding the claims would cost more than the rest of noting the usage.
        self._plans: ModelCache[tuple[str, str | None]] = ModelCache(
            ttl=math.inf, limit=SNAPSHOT_LIMIT
        )
        # Parsed once: httpx would re-parse a string URL on every request.
        self._responses_url = httpx.URL(f"{upstream.api_base}/responses")
        self._usage_url = httpx.URL(usage_url(upstream.api_base))

    def _headers(
        self, credentials: Credentials, session_id: str | None, *, lite: bool = False
    ) -> dict[str, str]:
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
        if credentials.fedramp:
            headers[FEDRAMP_HEADER] = "true"
        if lite:
            headers[LITE_HEADER] = "true"
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
        """Open the Responses stream, fit to the model's catalog entry (`shaping.py`); the
        conversation id keys the backend's prompt cache."""
        payload.setdefault("prompt_cache_key", conversation)
        traits = await self._traits(credentials, payload.get("model"))
        shaped = shape_for_model(payload, traits)
        return await self.open_stream(
            credentials, shaped, session_id=conversation, lite=traits.lite
        )

    async def open_stream(
        self,
        credentials: Credentials,
        payload: dict[str, Any],
        *,
        session_id: str | None,
        lite: bool = False,
    ) -> httpx.Response:
        """POST the Responses request and return the open streaming response (status 200);
        `lite`: the payload is in the Responses Lite shape (its header is sent).

        The caller must `aclose()` it. Raises `UpstreamUnauthorized` on 401 and `UpstreamError`
        for every other failure.
        """
        headers = self._headers(credentials, session_id, lite=lite)
        response = await open_post(self._http, self._responses_url, headers, payload)
        if response.status_code == 200:
            self._note_usage_later(credentials, response.headers)
            return response
        noted = self._note_usage(credentials, response.headers)
        failure = await read_failure(response)
        if failure.status == 429 or (failure.status == 404 and failure.code in USAGE_LIMIT_CODES):
            error = self._usage_limit(failure)
            self._note_refusal(credentials, noted, error.retry_after)
            raise error
        raise upstream_error(failure)

    def usage_snapshot(self, account_id: str) -> UsageSnapshot | None:
        """The plan's usage windows as the account's latest model call reported them (in
        memory, this process only: `None` before a call, or once forgotten). Never calls the
        backend."""
        return self._usage.get(account_id)

    def seen_limits(
        self, credentials: Credentials, fetched: PlanLimits | None
    ) -> PlanLimits | None:
        """The newer of `fetched` (the usage endpoint's last answer) and what the account's
        latest model answer said (`usage_snapshot`); no request."""
        snapshot = self._usage.get(credentials.account_id)
        if snapshot is None or (fetched is not None and fetched.fetched_at >= snapshot.seen_at):
            return fetched
        seen = limits_from_snapshot(
            snapshot, "usage_limit" if snapshot.refusal else "response_headers"
        )
        if seen.plan is None and fetched is not None:
            seen = dataclasses.replace(seen, plan=fetched.plan)
        return seen

    async def plan_limits(self, credentials: Credentials) -> PlanLimits:
        """Ask the usage endpoint (`usage.py`) for the account's windows and credits."""
        request = self._http.build_request(
            "GET",
            self._usage_url,
            headers=self._headers(credentials, None) | {"accept": "application/json"},
        )
        answer = await send(self._http, "usage", request)
        if answer.status_code == 401:
            raise UpstreamUnauthorized()
        if not answer.is_success or answer.body is None:
            raise UpstreamError(f"the ChatGPT usage endpoint failed (status {answer.status_code})")
        return parse_usage(answer.body, self._clock.now(), self._plan_type(credentials))

    def _note_usage(self, credentials: Credentials, headers: httpx.Headers) -> UsageSnapshot | None:
        """`_note_usage_later`, the snapshot read at once (a refusal needs it); `None` when the
        answer's headers make none."""
        if not self._note_usage_later(credentials, headers):
            return None
        return self._usage.get(credentials.account_id)

    def _note_usage_later(self, credentials: Credentials, headers: httpx.Headers) -> bool:
        """Note what the answer's `x-codex-*` headers say about the plan's usage; the snapshot
        is made when first asked for. Whether they said anything."""
        codex = codex_headers(headers)
        if not codex:  # most answers: no token to read
            return False
        plan_type = self._plan_type(credentials)
        return self._usage.put_headers(credentials.account_id, codex, self._clock.now(), plan_type)

    def _note_refusal(
        self, credentials: Credentials, noted: UsageSnapshot | None, wait: float | None
    ) -> None:
        """A usage-limit refusal: the snapshot says the window is used up until it resets
        (what the refusal's headers said, else the short window at 100% until the wait ends)."""
        if noted is not None:
            self._usage.put(credentials.account_id, dataclasses.replace(noted, refusal=True))
            return
        now = self._clock.now()
        seen = self._usage.get(credentials.account_id)
        resets_at = int(now + wait) if wait is not None else None
        minutes = seen.primary.window_minutes if seen is not None and seen.primary else None
        self._usage.put(
            credentials.account_id,
            UsageSnapshot(
                primary=LimitWindow(100.0, minutes, resets_at),
                secondary=seen.secondary if seen is not None else None,
                credits=seen.credits if seen is not None else None,
                plan_type=self._plan_type(credentials),
                active_limit=None,
                seen_at=now,
                refusal=True,
            ),
        )

    async def list_models(self, credentials: Credentials) -> list[ModelInfo]:
        """The models the account may use (`visibility == "list"`), cached per account for a
        few minutes; the built-in list when the catalog cannot be had."""
        return [
            ModelInfo(m["slug"], "openai")
            for m in await self._catalog(credentials)
            if m.get("visibility") == "list"
        ]

    async def _traits(self, credentials: Credentials, model: Any) -> ModelTraits:
        """What the catalog says `model` wants (hidden models included)."""
        slug = model if isinstance(model, str) else ""
        entries = await self._catalog(credentials)
        return traits_of(slug, next((m for m in entries if m["slug"] == slug), None))

    async def _catalog(self, credentials: Credentials) -> list[dict[str, Any]]:
        """Every model of the account's catalog (cached per account), hidden ones included; the
        built-in list (names only) when the catalog cannot be had."""
        now = self._clock.now()
        cached = self._models.get(credentials.account_id, now)
        if cached is None:
            cached = self._fallback.get(credentials.account_id, now)
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
        models = _catalog_models(response.body) if response is not None else None
        if response is not None and response.status_code == 401:
            raise UpstreamUnauthorized()
        if not models or not any(m.get("visibility") == "list" for m in models):
            fallback = [{"slug": slug, "visibility": "list"} for slug in FALLBACK_MODELS]
            self._fallback.put(credentials.account_id, now, fallback)
            return fallback
        self._models.put(credentials.account_id, now, models)
        return models

    def _plan_type(self, credentials: Credentials) -> str | None:
        """`_plan_type(credentials)`, remembered per account while its token's claims stay
        the same (a refreshed token is read again)."""
        token = credentials.access
        signed = token.rpartition(".")[0]
        if token.count(".") != 2:  # not a JWT: nothing to remember
            return _plan_type(credentials)
        known = self._plans.get(credentials.account_id, 0.0)
        if known is not None and known[0] == signed:
            return known[1]
        plan_type = _plan_type(credentials)
        self._plans.put(credentials.account_id, 0.0, (signed, plan_type))
        return plan_type

    def _usage_limit(self, failure: Failure) -> UpstreamError:
        """The plan's usage limit (a 429, or a 404 with its code): say when it resets, and
        wait until then."""
        now = self._clock.now()
        wait = usage_wait(failure.error, now, failure.retry_after)
        plan = failure.error.get("plan_type")
        when = datetime.fromtimestamp(now + wait, UTC).strftime("%Y-%m-%d %H:%M UTC")
        usage = f"the {plan[:64]} plan" if isinstance(plan, str) else "the plan"
        if failure.code == "usage_not_included":
            message = f"{usage} does not include Codex usage; upgrade it, or try again after {when}"
        else:
            message = f"{usage}'s ChatGPT usage limit is reached; it resets at {when}"
        return UpstreamError(
            message, status=429, code=failure.code or "usage_limit_reached", retry_after=wait
        )


def _plan_type(credentials: Credentials) -> str | None:
    """The plan the account's access token names (`chatgpt_plan_type`)."""
    claim = jwt_claims(credentials.access).get(_AUTH_CLAIM)
    plan_type = claim.get("chatgpt_plan_type") if isinstance(claim, dict) else None
    return plan_type[:64] if isinstance(plan_type, str) else None


def _no_system(item: Any) -> Any:
    """A `system` message as the `developer` message the backend takes (the Codex CLI's role
    for instructions); 400 "System messages are not allowed" otherwise."""
    if isinstance(item, dict) and item.get("role") == "system":
        return {**item, "role": "developer"}
    return item


def _catalog_models(body: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    if body is None or not isinstance(body.get("models"), list):
        return None
    return [m for m in body["models"] if isinstance(m, dict) and isinstance(m.get("slug"), str)]
