"""GitHub, emulated (`emulator.github`): the device flow, `/user` and the Copilot token exchange,
plus the Copilot API (`github/copilot.py`, on `emulator.github.api`), so Copilot tests run offline.

Paths below the emulator's root: `/github/...` for github.com, `/github-api/...` for
api.github.com, `/copilot` and `/copilot-business` for the Copilot API hosts.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from authai_embed._util.clock import Clock
from authai_embed.asgi.http import JSONResponse, Request, Response
from authai_embed.testing.code_page import CodePage
from authai_embed.testing.device_grants import (
    DEVICE_GRANT,
    DeviceGrants,
    DeviceKnobs,
    device_code_body,
)
from authai_embed.testing.github.copilot import SCRIPTED_ERROR, CopilotAPI, copilot_catalog
from authai_embed.testing.github.user_quota import user_body
from authai_embed.testing.model.chat import ChatModel
from authai_embed.testing.tokens import marked_token
from authai_embed.testing.wire import FORM_LIMIT, oauth_error, read_params

__all__ = ["COPILOT_CLIENT_ID", "GitHubKnobs", "GitHubSide", "GitHubStats", "GitHubUser"]

COPILOT_CLIENT_ID = "Iv1.b507a08c87ecfe98"
WEB, API = "/github", "/github-api"
COPILOT_PATHS = {"individual": "/copilot", "business": "/copilot-business"}
DEFAULT_LOGIN = "octocat-emu"


@dataclass(slots=True)
class GitHubUser:
    """A GitHub account; `copilot` off means no Copilot seat (the token exchange answers 403)."""

    id: int
    login: str
    copilot: bool = True
    plan: str = "individual"


@dataclass(slots=True)
class GitHubKnobs(DeviceKnobs):
    """Live settings of the emulated GitHub side."""

    client_id: str = COPILOT_CLIENT_ID
    copilot_token_ttl: int = 1800
    refresh_in: int = 1500
    token_delay: float = 0.0
    """Seconds the Copilot token exchange takes."""
    api_endpoint: str | None = None
    """Set: the token exchange names this URL as `endpoints.api` (a foreign host, to test that
    clients validate it)."""
    unsupported_api: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """model → the endpoints (`"/chat/completions"`, `"/responses"`) that answer it with 400
    `unsupported_api_for_model`, whatever the catalog lists; a model named here is served on
    the others (`{"gpt-5.4": ("/chat/completions",)}`: a Responses-only model)."""
    premium_entitlement: int | None = 300
    """Premium requests a month, reported on every model answer in
    `x-quota-snapshot-premium_interactions` (`-1`: unlimited; `None`: no such header)."""


@dataclass(slots=True)
class GitHubStats:
    """Counters for tests."""

    device_codes: int = 0
    device_polls: int = 0
    slow_downs: int = 0
    github_tokens: int = 0
    user_lookups: int = 0
    quota_lookups: int = 0
    """Calls to the Copilot user endpoint (`/copilot_internal/user`)."""
    copilot_tokens: int = 0
    """Copilot tokens minted."""
    refused_copilot_tokens: int = 0
    issued: list[str] = field(default_factory=list)


class GitHubSide:
    """GitHub's web and API hosts and the Copilot API, on one emulator."""

    def __init__(self, clock: Clock, base_url: Callable[[], str]) -> None:
        self.clock = clock
        self._base_url = base_url
        self.knobs = GitHubKnobs()
        self.stats = GitHubStats()
        self.model = ChatModel(clock, copilot_catalog(), SCRIPTED_ERROR)
        self.api = CopilotAPI(self.model, self._copilot_login, self.knobs, clock)
        self.lock = threading.RLock()
        self.grants = DeviceGrants(clock)
        self.users: dict[str, GitHubUser] = {}
        self._github_tokens: dict[str, str] = {}
        self._copilot_tokens: dict[str, tuple[str, float]] = {}
        self.add_user(DEFAULT_LOGIN)
        self.page = CodePage(
            name="GitHub",
            path=f"{WEB}/login/device",
            accounts=lambda: [(login, login, login == DEFAULT_LOGIN) for login in self.users],
            approve=self.approve,
            deny=self.deny,
            signed_in_as=lambda login: login or DEFAULT_LOGIN,
        )

    @property
    def base_url(self) -> str:
        """Where the emulator is served (it follows `emulator.knobs.issuer`)."""
        return self._base_url().rstrip("/")

    def routes(self) -> list[tuple[str, str, Any]]:
        """(method, path, handler) for the emulator's router."""
        routes: list[tuple[str, str, Any]] = [
            ("POST", f"{WEB}/login/device/code", self.device_code),
            ("POST", f"{WEB}/login/oauth/access_token", self.access_token),
            ("GET", self.page.path, self.page.show),
            ("POST", self.page.path, self.page.submit),
            ("GET", f"{API}/user", self.user),
            ("GET", f"{API}/copilot_internal/v2/token", self.copilot_token),
            ("GET", f"{API}/copilot_internal/user", self.copilot_user),
        ]
        for base in COPILOT_PATHS.values():
            routes += [
                ("POST", f"{base}/chat/completions", self.api.chat),
                ("POST", f"{base}/responses", self.api.responses),
                ("GET", f"{base}/models", self.api.models),
            ]
        return routes

    # The person's side and test views ------------------------------------------------------

    def add_user(self, login: str, *, copilot: bool = True, plan: str = "individual") -> GitHubUser:
        """Add a GitHub account (`plan`: `individual` or `business`, which has its own API host)."""
        with self.lock:
            if login in self.users:
                raise ValueError(f"GitHub user {login!r} already exists")
            user = GitHubUser(1_000_000 + len(self.users) + 1, login, copilot, plan)
            self.users[login] = user
            return user

    def approve(self, user_code: str, login: str | None = None) -> None:
        """Approve a code as `login` (the default user when `None`)."""
        with self.lock:
            self.grants.approve(user_code, login or DEFAULT_LOGIN)

    def deny(self, user_code: str) -> None:
        """Deny a code."""
        with self.lock:
            self.grants.deny(user_code)

    def revoke_github_token(self, login: str) -> None:
        """Revoke every GitHub token of a user (as removing the app's authorization would)."""
        with self.lock:
            for token in [t for t, owner in self._github_tokens.items() if owner == login]:
                del self._github_tokens[token]

    def issued_tokens(self) -> list[str]:
        """Every GitHub and Copilot token issued (each contains `TOKEN_MARKER`)."""
        with self.lock:
            return list(self.stats.issued)

    # GitHub's web host ---------------------------------------------------------------------

    async def device_code(self, request: Request) -> Response:
        """`POST /github/login/device/code`, form `client_id`, `scope` → `{device_code,
        user_code, verification_uri, expires_in, interval}`; 404 for another client_id."""
        params = await read_params(request, FORM_LIMIT)
        if params.get("client_id") != self.knobs.client_id:
            return JSONResponse({"error": "Not Found"}, 404)
        with self.lock:
            grant = self.grants.start(self.knobs, params)
            self.stats.device_codes += 1
        page = f"{self.base_url}{self.page.path}"
        return JSONResponse(device_code_body(grant, self.knobs, page))

    async def access_token(self, request: Request) -> Response:
        """`POST /github/login/oauth/access_token`, form `client_id`, `device_code`,
        `grant_type` → `{access_token, token_type, scope}` or `{error: authorization_pending |
        slow_down (+ interval, raised 5 s for good) | expired_token | access_denied |
        incorrect_device_code}`."""
        # GitHub answers every OAuth error of this endpoint with HTTP 200.
        params = await read_params(request, FORM_LIMIT)
        with self.lock:
            self.stats.device_polls += 1
            if params.get("grant_type") != DEVICE_GRANT:
                return oauth_error(200, "unsupported_grant_type")
            verdict, grant = self.grants.answer(self.knobs, params)
            if verdict == "approved" and grant is not None and grant.account is not None:
                token = marked_token("gho_", 24)
                self._github_tokens[token] = grant.account
                self.stats.github_tokens += 1
                self.stats.issued.append(token)
                return JSONResponse(
                    {"access_token": token, "token_type": "bearer", "scope": grant.scope}
                )
            if verdict == "slow_down" and grant is not None:
                self.stats.slow_downs += 1
                return oauth_error(200, "slow_down", interval=grant.interval)
        errors = {
            "pending": "authorization_pending",
            "expired": "expired_token",
            "denied": "access_denied",
        }
        return oauth_error(200, errors.get(verdict, "incorrect_device_code"))

    def _copilot_user(self, token: str) -> GitHubUser | None:
        """The user of a valid (known, unexpired) Copilot token."""
        with self.lock:
            entry = self._copilot_tokens.get(token)
            if entry is None or self.clock.now() >= entry[1]:
                return None
            return self.users[entry[0]]

    def _copilot_login(self, token: str) -> str | None:
        user = self._copilot_user(token)
        return None if user is None else user.login

    # GitHub's API host ---------------------------------------------------------------------

    def _github_user(self, request: Request) -> GitHubUser | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("token", "bearer"):
            return None
        with self.lock:
            login = self._github_tokens.get(token.strip())
            return None if login is None else self.users[login]

    async def user(self, request: Request) -> Response:
        """`GET /github-api/user`, `Authorization: token <github token>` → `{id, login}`."""
        user = self._github_user(request)
        if user is None:
            return JSONResponse({"message": "Bad credentials", "status": "401"}, 401)
        self.stats.user_lookups += 1
        return JSONResponse({"id": user.id, "login": user.login, "type": "User"})

    async def copilot_user(self, request: Request) -> Response:
        """`GET /github-api/copilot_internal/user` → the plan and quotas (`user_quota.py`);
        404 for a user without Copilot, 401 for a bad GitHub token."""
        user = self._github_user(request)
        if user is None:
            return JSONResponse({"message": "Bad credentials", "status": "401"}, 401)
        if not user.copilot:
            return JSONResponse({"message": "Not Found", "status": "404"}, 404)
        self.stats.quota_lookups += 1
        used = self.api.premium_used.get(user.login, 0.0)
        return JSONResponse(
            user_body(user.plan, self.knobs.premium_entitlement, used, self.clock.now())
        )

    async def copilot_token(self, request: Request) -> Response:
        """`GET /github-api/copilot_internal/v2/token` → `{token, expires_at, refresh_in, sku,
        endpoints: {api, ...}}`; 403 with `error_details` for a user without Copilot, 401 for a
        bad GitHub token. `knobs.token_delay` slows it (to overlap concurrent renewals)."""
        user = self._github_user(request)
        if user is None:
            return JSONResponse({"message": "Bad credentials", "status": "401"}, 401)
        if self.knobs.token_delay > 0:
            await anyio.sleep(self.knobs.token_delay)
        if not user.copilot:
            self.stats.refused_copilot_tokens += 1
            details = {
                "url": "https://github.com/features/copilot",
                "message": "No access to GitHub Copilot found.",
                "title": "Copilot is not enabled",
                "notification_id": "no_copilot_access",
            }
            return JSONResponse(
                {"error_details": details, "message": "Resource not accessible"}, 403
            )
        now = int(self.clock.now())
        expires_at = now + self.knobs.copilot_token_ttl
        token = marked_token(f"tid={secrets.token_hex(16)};exp={expires_at};sku=emu;", 24)
        with self.lock:
            self._copilot_tokens[token] = (user.login, float(expires_at))
            self.stats.copilot_tokens += 1
            self.stats.issued.append(token)
        api = (
            self.knobs.api_endpoint or f"{self.base_url}{COPILOT_PATHS.get(user.plan, '/copilot')}"
        )
        return JSONResponse(
            {
                "token": token,
                "expires_at": expires_at,
                "refresh_in": self.knobs.refresh_in,
                "sku": "copilot_for_business_seat"
                if user.plan == "business"
                else "monthly_subscriber",
                "endpoints": {
                    "api": api,
                    "proxy": f"{self.base_url}/copilot-proxy",
                    "telemetry": f"{self.base_url}/copilot-telemetry",
                },
            }
        )
