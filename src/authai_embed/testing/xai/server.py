"""xAI's auth host, emulated (`emulator.xai`): OIDC discovery, the RFC 8628 device flow and the
token endpoint with single-use rotating refresh tokens (JWT-shaped tokens with the account's
`sub`). The model APIs are `xai/api.py` (on `emulator.xai.api`). Paths below the emulator's root:
`/xai-auth/...` for auth.x.ai.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import authai_embed.testing.tokens as tokens
from authai_embed._util.clock import Clock
from authai_embed.asgi.http import JSONResponse, Request, Response
from authai_embed.testing.code_page import CodePage
from authai_embed.testing.device_grants import DEVICE_GRANT, DeviceGrants, device_code_body
from authai_embed.testing.model.chat import ChatModel
from authai_embed.testing.token_ledger import TokenLedger
from authai_embed.testing.wire import FORM_LIMIT, lifetime_field, oauth_error, read_params
from authai_embed.testing.xai.api import API, CLI, SCRIPTED_ERROR, XAIModelAPI, xai_catalog
from authai_embed.testing.xai.knobs import XAIKnobs

__all__ = ["XAISide", "XAIStats"]

AUTH = "/xai-auth"
DEFAULT_SUB = "xai-user-emulator-default"


@dataclass(slots=True)
class XAIStats:
    """Counters for tests."""

    discoveries: int = 0
    device_codes: int = 0
    device_polls: int = 0
    slow_downs: int = 0
    exchanges: int = 0
    refreshes: int = 0
    rejected_refreshes: int = 0
    refresh_reuses: int = 0
    revocations: int = 0
    issued: list[str] = field(default_factory=list)


class XAISide:
    """auth.x.ai, api.x.ai and the Grok CLI origin, on one emulator."""

    def __init__(self, clock: Clock, base_url: Callable[[], str]) -> None:
        self.clock = clock
        self._base_url = base_url
        self.knobs = XAIKnobs()
        self.stats = XAIStats()
        self.model = ChatModel(clock, xai_catalog(), SCRIPTED_ERROR)
        self.api = XAIModelAPI(self.model, self.knobs, self._authorized)
        self.lock = threading.RLock()
        self.grants = DeviceGrants(clock)
        self.ledger = TokenLedger()
        self.kid = tokens.new_kid()
        self.accounts: dict[str, str] = {}
        self.add_account(DEFAULT_SUB)
        self.page = CodePage(
            name="xAI",
            path=f"{AUTH}/device",
            accounts=lambda: [(sub, sub, sub == DEFAULT_SUB) for sub in self.accounts],
            approve=self.approve,
            deny=self.deny,
            signed_in_as=lambda sub: sub or DEFAULT_SUB,
        )

    @property
    def issuer(self) -> str:
        """The issuer URL (the settings' `xai.issuer`)."""
        return f"{self.base_url}{AUTH}"

    @property
    def base_url(self) -> str:
        """Where the emulator is served (it follows `emulator.knobs.issuer`)."""
        return self._base_url().rstrip("/")

    def routes(self) -> list[tuple[str, str, Any]]:
        """(method, path, handler) for the emulator's router."""
        routes: list[tuple[str, str, Any]] = [
            ("GET", f"{AUTH}/.well-known/openid-configuration", self.discovery),
            ("POST", f"{AUTH}/oauth2/device/code", self.device_code),
            ("POST", f"{AUTH}/oauth2/token", self.token),
            ("POST", f"{AUTH}/oauth2/revoke", self.revoke),
            ("GET", self.page.path, self.page.show),
            ("POST", self.page.path, self.page.submit),
        ]
        for base in (API, CLI):
            routes += [
                ("POST", f"{base}/chat/completions", self.api.chat),
                ("POST", f"{base}/responses", self.api.responses),
                ("GET", f"{base}/models", self.api.models),
            ]
        return routes

    def _authorized(self, token: str) -> bool:
        with self.lock:
            return self.ledger.access_family(token, self.clock.now()) is not None

    # The person's side and test views ------------------------------------------------------

    def add_account(self, sub: str, email: str | None = None) -> str:
        """Add an xAI account by its subject id."""
        with self.lock:
            if sub in self.accounts:
                raise ValueError(f"xAI account {sub!r} already exists")
            self.accounts[sub] = email or f"{sub}@x.emulator.test"
        return sub

    def approve(self, user_code: str, account: str | None = None) -> None:
        """Approve a code as `account` (the default account when `None`)."""
        with self.lock:
            self.grants.approve(user_code, account or DEFAULT_SUB)

    def deny(self, user_code: str) -> None:
        """Deny a code."""
        with self.lock:
            self.grants.deny(user_code)

    def revoke_account(self, sub: str) -> int:
        """End every sign-in of an account."""
        with self.lock:
            return self.ledger.revoke_account(sub)

    def issued_tokens(self) -> list[str]:
        """Every token issued (each contains `TOKEN_MARKER`)."""
        with self.lock:
            return self.ledger.issued()

    # auth.x.ai -----------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        """`GET /xai-auth/.well-known/openid-configuration`; `knobs.discovery_failures` makes
        the next N answer 503; `revocation_endpoint` only with `knobs.revocation_listed`."""
        with self.lock:
            self.stats.discoveries += 1
            if self.knobs.discovery_failures > 0:
                self.knobs.discovery_failures -= 1
                return JSONResponse({"error": "temporarily unavailable"}, 503)
        issuer = self.issuer
        document = {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth2/auth",
            "token_endpoint": f"{issuer}/oauth2/token",
            "device_authorization_endpoint": f"{issuer}/oauth2/device/code",
            "jwks_uri": f"{issuer}/.well-known/jwks.json",
            "grant_types_supported": ["authorization_code", "refresh_token", DEVICE_GRANT],
        }
        if self.knobs.revocation_listed:
            document["revocation_endpoint"] = f"{issuer}/oauth2/revoke"
        return JSONResponse(document)

    async def device_code(self, request: Request) -> Response:
        """`POST /xai-auth/oauth2/device/code`, form `client_id`, `scope` → `{device_code,
        user_code, verification_uri, verification_uri_complete, expires_in, interval}`; 404
        while `knobs.device_flow_enabled` is off."""
        if not self.knobs.device_flow_enabled:
            return JSONResponse({"error": "not_found"}, 404)
        params = await read_params(request, FORM_LIMIT)
        if params.get("client_id") != self.knobs.client_id:
            return oauth_error(401, "invalid_client")
        with self.lock:
            grant = self.grants.start(self.knobs, params)
            self.stats.device_codes += 1
        page = f"{self.base_url}{self.page.path}"
        return JSONResponse(device_code_body(grant, self.knobs, page, complete=True))

    async def token(self, request: Request) -> Response:
        """`POST /xai-auth/oauth2/token` → `{access_token, id_token, refresh_token, expires_in,
        token_type}`: the device grant (400 `authorization_pending`, `slow_down`,
        `expired_token`, `access_denied`) or `refresh_token` (rotation; a spent token is 400
        `invalid_grant` and, with `knobs.revoke_family_on_reuse`, revokes the newer tokens)."""
        params = await read_params(request, FORM_LIMIT)
        if params.get("client_id") != self.knobs.client_id:
            return oauth_error(401, "invalid_client")
        with self.lock:
            if params.get("grant_type") == DEVICE_GRANT:
                return self._device_token(params)
            if params.get("grant_type") == "refresh_token":
                return self._refresh(params.get("refresh_token", ""))
        return oauth_error(400, "unsupported_grant_type")

    async def revoke(self, request: Request) -> Response:
        """`POST /xai-auth/oauth2/revoke`, form `token`, `token_type_hint`?, `client_id` (RFC
        7009): 200 known token or not; a refresh token ends its sign-in. 404 while
        `knobs.revocation_listed` is off."""
        if not self.knobs.revocation_listed:
            return JSONResponse({"error": "not_found"}, 404)
        params = await read_params(request, FORM_LIMIT)
        if params.get("client_id") != self.knobs.client_id:
            return oauth_error(401, "invalid_client")
        if not params.get("token"):
            return oauth_error(400, "invalid_request")
        with self.lock:
            if self.ledger.revoke_token(params["token"]):
                self.stats.revocations += 1
        return JSONResponse({})

    def _device_token(self, params: dict[str, str]) -> Response:
        self.stats.device_polls += 1
        verdict, grant = self.grants.answer(self.knobs, params)
        if verdict == "approved" and grant is not None and grant.account is not None:
            self.stats.exchanges += 1
            family = self.ledger.new_family(grant.account, grant.client_id)
            return JSONResponse(self._issue(family))
        if verdict == "slow_down":
            self.stats.slow_downs += 1
        errors = {
            "pending": "authorization_pending",
            "slow_down": "slow_down",
            "expired": "expired_token",
            "denied": "access_denied",
        }
        return oauth_error(400, errors.get(verdict, "invalid_grant"))

    def _refresh(self, refresh: str) -> Response:
        verdict, entry = self.ledger.refresh_verdict(refresh, self.clock.now())
        if verdict == "reused" and entry is not None:
            self.stats.refresh_reuses += 1
            if self.knobs.revoke_family_on_reuse:
                entry.family.revoked = True
        if verdict != "ok" or entry is None:
            self.stats.rejected_refreshes += 1
            return oauth_error(400, "invalid_grant")
        entry.rotated = True
        self.stats.refreshes += 1
        return JSONResponse(self._issue(entry.family))

    def _issue(self, family: Any) -> dict[str, Any]:
        now, ttl = int(self.clock.now()), self.knobs.access_ttl
        sub = family.account_id
        claims = {"iss": self.issuer, "sub": sub, "aud": family.client_id, "iat": now}
        access = tokens.jwt_shaped(
            {**claims, "exp": now + ttl, "scope": "api:access grok-cli:access"}, self.kid
        )
        id_token = tokens.jwt_shaped(
            {**claims, "exp": now + 3600, "email": self.accounts[sub]}, self.kid
        )
        refresh = tokens.marked_token("xrt_")
        self.ledger.record(
            family,
            access=access,
            access_expires_at=now + ttl,
            id_token=id_token,
            refresh=refresh,
            refresh_expires_at=None,
        )
        answer = {"access_token": access, "id_token": id_token, "refresh_token": refresh}
        return lifetime_field({**answer, "token_type": "Bearer"}, ttl, self.knobs.expires_in)
