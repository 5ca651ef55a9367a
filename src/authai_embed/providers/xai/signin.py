"""Sign in with Grok: xAI's OIDC discovery, RFC 8628 device flow and rotating refresh tokens.

The flow (upstream.md section 5): discover the endpoints (cached; a failure is retried, never
cached), ask for a user code, poll the token endpoint (errors are non-2xx with `error`), read the
account id from the id_token's `sub`. Refresh tokens rotate and are single-use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from authai_embed._util.clock import Clock
from authai_embed.credentials import Credentials
from authai_embed.errors import Unauthorized, UpstreamError
from authai_embed.providers._device import access_lifetime, device_start, poll_outcome
from authai_embed.providers._upstream import Answer, jwt_claims, oauth_error_code, send
from authai_embed.providers.base import DevicePoll, DeviceStart
from authai_embed.providers.xai.backend import XAIBackend
from authai_embed.providers.xai.config import XAIUpstream

__all__ = ["OIDCDiscovery", "XAIProvider"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DISCOVERY_TTL = 3600.0
DEFAULT_ACCESS_TTL = 900.0
_DISCOVERY_ATTEMPTS = 3
_REJECTED_REFRESH = {"invalid_grant", "invalid_token", "unauthorized_client"}


@dataclass(frozen=True, slots=True)
class Endpoints:
    """The endpoints the discovery document names (`revocation` only when it lists one)."""

    device_authorization: str
    token: str
    revocation: str | None = None


class OIDCDiscovery:
    """The issuer's `/.well-known/openid-configuration`, cached for an hour; a failure is
    retried a few times at once and never cached."""

    def __init__(self, issuer: str, http: httpx.AsyncClient, clock: Clock) -> None:
        self._url = f"{issuer}/.well-known/openid-configuration"
        self._http = http
        self._clock = clock
        self._cached: tuple[float, Endpoints] | None = None
        self._lock = anyio.Lock()

    async def endpoints(self) -> Endpoints:
        """The device authorization and token endpoints."""
        async with self._lock:
            now = self._clock.now()
            if self._cached is not None and now - self._cached[0] < DISCOVERY_TTL:
                return self._cached[1]
            failure: UpstreamError | None = None
            for attempt in range(_DISCOVERY_ATTEMPTS):
                try:
                    found = await self._fetch()
                except UpstreamError as exc:
                    failure = exc
                    await anyio.sleep(0.1 * attempt)
                    continue
                self._cached = (now, found)
                return found
            assert failure is not None
            raise failure

    async def _fetch(self) -> Endpoints:
        request = self._http.build_request("GET", self._url, headers={"accept": "application/json"})
        response = await send(self._http, "xAI discovery", request)
        body = response.body if response.is_success else None
        if body is None:
            raise UpstreamError(f"xAI discovery failed with status {response.status_code}")
        device, token = body.get("device_authorization_endpoint"), body.get("token_endpoint")
        if not isinstance(device, str) or not isinstance(token, str):
            raise UpstreamError("xAI discovery names no device authorization endpoint")
        # Codes and refresh tokens go to these URLs: https only (or the issuer's own scheme,
        # for a local emulator).
        schemes = ("https://", self._url.split("://", 1)[0] + "://")
        if not device.startswith(schemes) or not token.startswith(schemes):
            raise UpstreamError("xAI discovery names an endpoint that is not https")
        revocation = body.get("revocation_endpoint")
        if not (isinstance(revocation, str) and revocation.startswith(schemes)):
            revocation = None  # tokens go there too: an unusable URL is no endpoint
        return Endpoints(device, token, revocation)


class XAIProvider:
    """Sign in with Grok through the Grok CLI's public client; models through xAI's API."""

    id = "xai"
    display_name = "Grok"

    def __init__(
        self, upstream: XAIUpstream, http: httpx.AsyncClient, *, originator: str, clock: Clock
    ) -> None:
        self._upstream = upstream
        self._http = http
        self._clock = clock
        self._originator = originator
        self.discovery = OIDCDiscovery(upstream.issuer, http, clock)
        self.backend = XAIBackend(upstream, http, clock)

    async def _post(self, what: str, url: str, form: dict[str, str]) -> Answer:
        request = self._http.build_request(
            "POST", url, data=form, headers={"accept": "application/json"}
        )
        return await send(self._http, what, request)

    async def start_device_login(self) -> DeviceStart:
        """Ask xAI for a user code."""
        endpoints = await self.discovery.endpoints()
        form = {"client_id": self._upstream.client_id, "scope": self._upstream.scope}
        response = await self._post("xAI device code request", endpoints.device_authorization, form)
        if response.status_code == 404:
            raise UpstreamError("device code sign-in is not enabled on xAI's auth server")
        if not response.is_success:
            raise UpstreamError(
                f"xAI device code request failed with status {response.status_code}"
            )
        return device_start(
            response.body,
            fallback_url=f"{self._upstream.issuer}/device",
            what="xAI device code request",
        )

    async def poll_device_login(self, state: Mapping[str, str]) -> DevicePoll:
        """Poll the token endpoint once."""
        endpoints = await self.discovery.endpoints()
        form = {
            "grant_type": DEVICE_GRANT,
            "device_code": state["device_code"],
            "client_id": self._upstream.client_id,
        }
        response = await self._post("xAI device poll", endpoints.token, form)
        body = response.body
        if response.is_success and body is not None:
            return DevicePoll("complete", credentials=self._credentials(body, None))
        outcome = poll_outcome(oauth_error_code(body), body)
        if outcome is not None:
            return outcome
        status = 502 if response.status_code >= 500 else 400
        raise UpstreamError(
            f"xAI device poll failed with status {response.status_code}", status=status
        )

    async def refresh(self, credentials: Credentials) -> Credentials:
        """Spend the single-use refresh token; a rejected one raises `Unauthorized`."""
        if not credentials.refresh:
            raise Unauthorized()
        endpoints = await self.discovery.endpoints()
        form = {
            "grant_type": "refresh_token",
            "refresh_token": credentials.refresh,
            "client_id": self._upstream.client_id,
        }
        response = await self._post("xAI token refresh", endpoints.token, form)
        body = response.body
        if not response.is_success:
            if response.status_code in (400, 401) and oauth_error_code(body) in _REJECTED_REFRESH:
                raise Unauthorized()
            raise UpstreamError(f"xAI token refresh failed with status {response.status_code}")
        if body is None:
            raise UpstreamError("xAI token refresh returned an unexpected answer")
        return self._credentials(body, credentials)

    async def revoke(self, credentials: Credentials) -> None:
        """Revoke the refresh token (else the access token) at the discovery document's
        `revocation_endpoint` (RFC 7009); nothing when it lists none."""
        endpoints = await self.discovery.endpoints()
        if endpoints.revocation is None:
            return
        token, hint = (
            (credentials.refresh, "refresh_token")
            if credentials.refresh
            else (credentials.access, "access_token")
        )
        form = {"token": token, "token_type_hint": hint, "client_id": self._upstream.client_id}
        response = await self._post("xAI token revocation", endpoints.revocation, form)
        if not response.is_success:
            raise UpstreamError(f"xAI token revocation failed with status {response.status_code}")

    def _credentials(self, body: dict[str, Any], previous: Credentials | None) -> Credentials:
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise UpstreamError("xAI returned no access token", status=400)
        account = _subject(str(body.get("id_token") or ""), access)
        if account is None and previous is not None:
            account = previous.account_id
        if account is None:
            raise UpstreamError("the xAI sign-in tokens carry no account id", status=400)
        refresh = body.get("refresh_token")
        if not (isinstance(refresh, str) and refresh):
            refresh = previous.refresh if previous is not None else None
        now = self._clock.now()
        return Credentials(
            provider=self.id,
            access=access,
            refresh=refresh,
            expires_at=now + access_lifetime(body, now, DEFAULT_ACCESS_TTL),
            account_id=account,
            originator=previous.originator if previous is not None else self._originator,
        )


def _subject(*tokens: str) -> str | None:
    """`sub` of the first token that has one (not verified: it came over TLS from the issuer)."""
    for token in tokens:
        sub = jwt_claims(token).get("sub") if token else None
        if isinstance(sub, str) and sub:
            return sub
    return None
