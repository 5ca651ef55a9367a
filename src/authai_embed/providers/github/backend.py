"""GitHub Copilot's model side: the short-lived Copilot token and the Copilot API.

The stored GitHub token is exchanged on demand for a Copilot token, kept in memory per record,
renewed shortly before it expires or once the API refuses it, minted once at a time per user.
Its `endpoints.api` is the API base (Business and Enterprise seats have their own hosts).
Each accepted call counts the user's premium requests (`premium.py`); a model that chat
completions refuses as `unsupported_api_for_model` is remembered as `/responses`-only
(`catalog.py`), so the proxy's one retry there, and every later call, goes to `/responses`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from authai_embed._util.clock import Clock
from authai_embed._util.keyed_lock import KeyedLocks
from authai_embed.credentials import Credentials
from authai_embed.errors import UpstreamError
from authai_embed.providers._cache import ModelCache
from authai_embed.providers._upstream import (
    Answer,
    Failure,
    open_post,
    read_failure,
    send,
    upstream_error,
)
from authai_embed.providers.base import Endpoint, ModelInfo, UpstreamUnauthorized
from authai_embed.providers.github.catalog import (
    CopilotModel,
    ResponsesOnly,
    parse_catalog,
    serving,
)
from authai_embed.providers.github.config import GitHubUpstream
from authai_embed.providers.github.premium import PremiumRequests, PremiumUsage, quota_of
from authai_embed.providers.github.quota import USER_PATH, parse_user, with_counts
from authai_embed.providers.github.turns import has_image, initiator
from authai_embed.providers.plan import PlanLimits

__all__ = ["CopilotBackend", "CopilotNotEntitled", "CopilotToken", "CopilotTokens"]

DEFAULT_API = "https://api.individual.githubcopilot.com"
RENEW_MARGIN = 300.0
_CACHE_LIMIT = 4096
NAME = "GitHub Copilot"
UNSUPPORTED_API = "unsupported_api_for_model"


class CopilotNotEntitled(UpstreamError):
    """The GitHub account has no Copilot seat (the token exchange answered 403/404)."""

    def __init__(self) -> None:
        super().__init__(
            "this GitHub account has no active GitHub Copilot subscription; "
            "enable Copilot at https://github.com/settings/copilot and sign in again",
            status=403,
            code="copilot_not_enabled",
        )


@dataclass(frozen=True, slots=True)
class CopilotToken:
    """A minted Copilot token, its expiry (Unix s) and the API base it is for."""

    token: str = field(repr=False)
    expires_at: float
    api_base: str


class CopilotTokens:
    """Mints and caches Copilot tokens, keyed by a hash of the GitHub token (one per record)."""

    def __init__(self, upstream: GitHubUpstream, http: httpx.AsyncClient, clock: Clock) -> None:
        self._upstream = upstream
        self._http = http
        self._clock = clock
        self._cache: dict[str, CopilotToken] = {}
        self._locks = KeyedLocks()

    def editor_headers(self) -> dict[str, str]:
        """The headers the Copilot editor extension sends on every call."""
        up = self._upstream
        return {
            "editor-version": up.editor_version,
            "editor-plugin-version": up.plugin_version,
            "user-agent": up.user_agent,
        }

    async def get(self, github_token: str, *, stale: str | None = None) -> CopilotToken:
        """A usable Copilot token: the cached one unless it is due (or is `stale`, a token the
        API just refused), else a new one. Raises `CopilotNotEntitled`, `UpstreamUnauthorized`
        (the GitHub token is revoked) or `UpstreamError`."""
        key = hashlib.sha256(github_token.encode()).hexdigest()
        cached = self._usable(key, stale)
        if cached is not None:
            return cached

        async with self._locks.hold(key):
            again = self._usable(key, stale)
            if again is not None:  # minted while this request waited for the lock
                return again
            minted = await self.mint(github_token)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = minted
            return minted

    def _usable(self, key: str, stale: str | None) -> CopilotToken | None:
        cached = self._cache.get(key)
        if cached is None or cached.token == stale:
            return None
        if cached.expires_at - self._clock.now() < RENEW_MARGIN:
            return None
        return cached

    async def mint(self, github_token: str) -> CopilotToken:
        """Exchange the GitHub token for a Copilot token (not cached)."""
        path = "/copilot_internal/v2/token"
        response = await self.api_get(path, github_token, "Copilot token exchange")
        if response.status_code == 401:
            raise UpstreamUnauthorized()
        if response.status_code in (403, 404):
            raise CopilotNotEntitled()
        body = response.body if response.is_success else None
        if body is None:
            raise UpstreamError(f"Copilot token exchange failed (status {response.status_code})")
        token, expires_at = body.get("token"), body.get("expires_at")
        if not isinstance(token, str) or not token or not isinstance(expires_at, int | float):
            raise UpstreamError("Copilot token exchange returned an unexpected answer")
        return CopilotToken(token, float(expires_at), self._api_base(body.get("endpoints")))

    async def api_get(self, path: str, github_token: str, what: str) -> Answer:
        """GET `path` of the GitHub API as the Copilot editor extension does, with the GitHub
        token (`what` names the call in errors)."""
        request = self._http.build_request(
            "GET",
            f"{self._upstream.api_base}{path}",
            headers={
                "authorization": f"token {github_token}",
                "accept": "application/json",
                **self.editor_headers(),
            },
        )
        return await send(self._http, what, request)

    def _api_base(self, endpoints: Any) -> str:
        """`endpoints.api`, if it is an https URL (or the scheme our own settings use, so the
        emulator can run on plain http); the individual host otherwise. A host outside
        `api_hosts` (and not `api_base`'s) is refused: the Copilot token would go there."""
        api = endpoints.get("api") if isinstance(endpoints, Mapping) else None
        if not isinstance(api, str):
            return DEFAULT_API
        parts = urlsplit(api)
        allowed = {"https", urlsplit(self._upstream.api_base).scheme}
        if parts.scheme not in allowed or not parts.netloc:
            return DEFAULT_API
        if not self._allowed_host(parts.hostname or ""):
            raise UpstreamError(
                f"the Copilot token endpoint named an API host outside github.api_hosts "
                f"({(parts.hostname or '')[:100]}); add it there if it is GitHub's",
                code="copilot_api_host_refused",
            )
        return api.rstrip("/")

    def _allowed_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        patterns = (*self._upstream.api_hosts, urlsplit(self._upstream.api_base).hostname or "")
        for pattern in (p.lower() for p in patterns if p):
            if pattern.startswith("*.") and host.endswith(pattern[1:]) and host != pattern[2:]:
                return True
            if host == pattern:
                return True
        return False


class CopilotBackend:
    """The `ModelBackend` of GitHub sign-ins: the Copilot API with a renewed Copilot token."""

    default_instructions = "You are a helpful assistant."

    def __init__(self, upstream: GitHubUpstream, http: httpx.AsyncClient, clock: Clock) -> None:
        self._upstream = upstream
        self._http = http
        self._clock = clock
        self.tokens = CopilotTokens(upstream, http, clock)
        self._models: ModelCache[dict[str, CopilotModel]] = ModelCache()
        self._responses_only = ResponsesOnly()
        self._premium = PremiumRequests(clock)

    def premium_requests(self, account_id: str) -> PremiumUsage:
        """The account's Copilot premium requests this month, as counted by this process, and
        the quota Copilot last reported for it. `account_id` is the GitHub account id
        (`Credentials.account_id`; the session's opaque user id is derived from it)."""
        return self._premium.snapshot(account_id)

    def seen_limits(
        self, credentials: Credentials, fetched: PlanLimits | None
    ) -> PlanLimits | None:
        """`fetched` (the user endpoint's last answer) with this process's premium requests."""
        if fetched is None:
            return None
        return with_counts(fetched, self._premium.snapshot(credentials.account_id))

    async def plan_limits(self, credentials: Credentials) -> PlanLimits:
        """Ask Copilot's user endpoint (`quota.py`) for the plan and its monthly quotas."""
        answer = await self.tokens.api_get(USER_PATH, credentials.access, "Copilot user")
        if answer.status_code == 401:
            raise UpstreamUnauthorized()
        if not answer.is_success or answer.body is None:
            raise UpstreamError(f"the Copilot user endpoint failed (status {answer.status_code})")
        return parse_user(answer.body, self._clock.now())

    def _headers(self, token: CopilotToken) -> dict[str, str]:
        return {
            "authorization": f"Bearer {token.token}",
            "copilot-integration-id": self._upstream.integration_id,
            "openai-intent": "conversation-panel",
            **self.tokens.editor_headers(),
        }

    async def list_models(self, credentials: Credentials) -> list[ModelInfo]:
        """The live catalog, keeping models served on chat completions or responses."""
        catalog = await self._catalog(credentials)
        return [ModelInfo(model, "github-copilot") for model in catalog]

    async def endpoint_for(
        self, credentials: Credentials, model: str, requested: Endpoint
    ) -> Endpoint | None:
        """Chat passes through, or is translated for a `/responses`-only model (listed so, or
        found so); `/responses` only for models that list it."""
        entry = (await self._catalog(credentials)).get(model)
        return serving(entry, requested, responses_only=model in self._responses_only)

    def responses_payload(self, body: dict[str, Any]) -> dict[str, Any]:
        """Copilot takes the Responses body as given (the proxy has typed its input)."""
        return dict(body)

    async def open(
        self,
        credentials: Credentials,
        endpoint: Endpoint,
        payload: dict[str, Any],
        *,
        conversation: str,
    ) -> httpx.Response:
        """POST to `{endpoints.api}/{endpoint}`; a refused Copilot token is renewed once. An
        accepted user turn on a premium model is counted; a chat call refused as
        `unsupported_api_for_model` marks the model `/responses`-only before it raises."""
        who = initiator(payload)
        headers = {"x-initiator": who}
        cost = await self._premium_cost(credentials, payload) if who == "user" else None
        if has_image(payload):
            headers["copilot-vision-request"] = "true"
        stale: str | None = None
        for _ in range(2):
            token = await self.tokens.get(credentials.access, stale=stale)
            response = await open_post(
                self._http,
                f"{token.api_base}/{endpoint}",
                {**self._headers(token), **headers},
                payload,
            )
            if response.is_success:
                self._accepted(credentials.account_id, cost, response)
                return response
            failure = await read_failure(response)
            if failure.status not in (401, 403) or stale is not None:
                break
            stale = token.token
        if failure.status in (401, 403):
            # Refused twice, the second time just minted: the GitHub token is fine, Copilot is not.
            raise UpstreamError("GitHub Copilot refused a freshly minted token", status=502)
        raise self._refused(endpoint, payload, failure)

    async def _premium_cost(
        self, credentials: Credentials, payload: dict[str, Any]
    ) -> float | None:
        """What a user turn costs in premium requests (`None`: not a premium model). Asked
        before the call opens: the catalog is cached (the proxy has just read it)."""
        entry = (await self._catalog(credentials)).get(str(payload.get("model")))
        return entry.multiplier if entry is not None and entry.premium else None

    def _accepted(self, account: str, cost: float | None, response: httpx.Response) -> None:
        """Count a premium request (`cost`: a user turn on a premium model; a tool follow-up
        costs nothing) and keep the quota Copilot reported."""
        quota = quota_of(response.headers)
        if quota is not None:
            self._premium.report(account, quota)
        if cost is not None:
            self._premium.count(account, cost)

    def _refused(
        self, endpoint: Endpoint, payload: dict[str, Any], failure: Failure
    ) -> UpstreamError:
        """What a refused call raises, after learning where its model is served."""
        model = payload.get("model")
        if failure.status == 400 and failure.code == UNSUPPORTED_API and isinstance(model, str):
            if endpoint == "chat/completions":
                self._responses_only.add(model)  # the caller retries on /responses once
            elif model in self._responses_only:
                self._responses_only.discard(model)
                return UpstreamError(
                    f"{NAME} serves the model {model[:100]} on neither /chat/completions "
                    "nor /responses",
                    status=400,
                    code=UNSUPPORTED_API,
                )
        return upstream_error(failure, NAME)

    async def _catalog(self, credentials: Credentials) -> dict[str, CopilotModel]:
        """model id → its catalog entry, cached per account for a few minutes."""
        now = self._clock.now()
        cached = self._models.get(credentials.account_id, now)
        if cached is not None:
            return cached
        stale: str | None = None
        for _ in range(2):
            token = await self.tokens.get(credentials.access, stale=stale)
            request = self._http.build_request(
                "GET", f"{token.api_base}/models", headers=self._headers(token)
            )
            response = await send(self._http, "Copilot model list", request)
            if response.status_code not in (401, 403):
                break
            stale = token.token
        body = response.body if response.is_success else None
        if body is None or not isinstance(body.get("data"), list):
            raise UpstreamError(f"Copilot model list failed (status {response.status_code})")
        catalog = parse_catalog(body["data"])
        self._models.put(credentials.account_id, now, catalog)
        return catalog
