"""ChatGPT (Codex) sign-in: the Codex CLI's device-code flow, code exchange and refresh.

The flow (upstream.md section 1): ask for a user code, poll until the user approves on
`{issuer}/codex/device`, receive an authorization code with its PKCE verifier, exchange it for
tokens, read the ChatGPT account id from the id_token. Refresh tokens rotate and are single-use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from authai_embed._util.clock import Clock
from authai_embed.credentials import Credentials
from authai_embed.errors import SignInDisabled, Unauthorized, UpstreamError
from authai_embed.providers._device import access_lifetime, poll_interval
from authai_embed.providers._upstream import error_fields, jwt_claims, oauth_error_code, send
from authai_embed.providers.base import DevicePoll, DeviceStart
from authai_embed.providers.openai.backend import CodexBackend
from authai_embed.providers.openai.config import OpenAIUpstream

__all__ = ["OpenAIProvider", "chatgpt_account_id", "fedramp_account"]

AUTH_CLAIM = "https://api.openai.com/auth"
DEVICE_CODE_LIFETIME = 15 * 60.0
DEFAULT_ACCESS_TTL = 3600.0
_REJECTED_REFRESH = {
    "invalid_grant",
    "refresh_token_reused",
    "refresh_token_expired",
    "refresh_token_invalidated",
}


def chatgpt_account_id(*tokens: str) -> str | None:
    """The `chatgpt_account_id` claim of the first token that has one (tokens not verified)."""
    for token in tokens:
        auth = jwt_claims(token).get(AUTH_CLAIM)
        if isinstance(auth, dict):
            account = auth.get("chatgpt_account_id")
            if isinstance(account, str) and account:
                return account
    return None


def fedramp_account(*tokens: str) -> bool:
    """Whether any of the tokens marks a FedRAMP workspace (`chatgpt_account_is_fedramp`, read
    by the Codex CLI from the id token; tokens not verified)."""
    for token in tokens:
        auth = jwt_claims(token).get(AUTH_CLAIM)
        if isinstance(auth, dict) and auth.get("chatgpt_account_is_fedramp") is True:
            return True
    return False


class OpenAIProvider:
    """Sign in with ChatGPT through the Codex CLI's public client."""

    id = "openai"
    display_name = "ChatGPT"

    def __init__(
        self, upstream: OpenAIUpstream, http: httpx.AsyncClient, *, originator: str, clock: Clock
    ) -> None:
        self._upstream = upstream
        self._http = http
        self._clock = clock
        self._headers = {"originator": originator, "user-agent": upstream.user_agent}
        self._originator = originator
        self.backend = CodexBackend(upstream, http, originator=originator, clock=clock)

    async def start_device_login(self) -> DeviceStart:
        """Ask for a user code; the user types it at the verification URL."""
        request = self._http.build_request(
            "POST",
            f"{self._upstream.issuer}/api/accounts/deviceauth/usercode",
            json={"client_id": self._upstream.client_id},
            headers=self._headers,
        )
        response = await send(self._http, "device code request", request)
        if response.status_code == 404:
            # What the Codex CLI and other clients read as "device code sign-in is off".
            raise SignInDisabled(self._disabled_guidance(), help_url=self._help_url)
        body = response.body if response.is_success else None
        if body is None:
            raise UpstreamError(f"device code request failed with status {response.status_code}")
        device_auth_id = body.get("device_auth_id")
        user_code = body.get("user_code") or body.get("usercode")
        if not isinstance(device_auth_id, str) or not isinstance(user_code, str):
            raise UpstreamError("device code request returned an unexpected answer")
        return DeviceStart(
            user_code=user_code,
            verification_url=self._upstream.verification_url,
            interval=poll_interval(body.get("interval")),
            expires_in=DEVICE_CODE_LIFETIME,
            state={"device_auth_id": device_auth_id, "user_code": user_code},
        )

    async def poll_device_login(self, state: Mapping[str, str]) -> DevicePoll:
        """Poll once; on approval exchange the authorization code for tokens."""
        request = self._http.build_request(
            "POST",
            f"{self._upstream.issuer}/api/accounts/deviceauth/token",
            json={"device_auth_id": state["device_auth_id"], "user_code": state["user_code"]},
            headers=self._headers,
        )
        response = await send(self._http, "device authorization poll", request)
        status = response.status_code
        body = response.body
        if status in (401, 403, 404) and _says_device_login_disabled(body):
            return DevicePoll(
                "denied",
                message=self._disabled_guidance(_error_message(body)),
                code=SignInDisabled.code_name,
                help_url=self._help_url,
            )
        if status in (403, 404):
            return DevicePoll("pending")
        if status == 429:
            return DevicePoll("slow_down")
        if response.is_success and body is not None:
            try:
                credentials = await self._exchange(body)
            except UpstreamError as exc:
                # The grant is spent or refused: final for this login (the user starts again).
                raise UpstreamError(
                    f"sign-in could not be completed: {exc.message}", status=400
                ) from None
            return DevicePoll("complete", credentials=credentials)
        code = oauth_error_code(body) or ""
        if "expired" in code:
            return DevicePoll("expired")
        if "denied" in code:
            return DevicePoll("denied", message="the sign-in was denied")
        raise UpstreamError(f"device authorization failed with status {status}", status=502)

    @property
    def _help_url(self) -> str:
        return self._upstream.security_settings_url

    def _disabled_guidance(self, said: str | None = None) -> str:
        """What to tell the user when ChatGPT refuses device-code sign-in: its own words when it
        gave some, then the fix (each user in their settings; workspaces through their admin)."""
        fix = (
            'Device code sign-in is turned off for this ChatGPT account: turn on "device code '
            f"authorization for Codex\" in ChatGPT's security settings ({self._help_url}), or ask "
            "your workspace admin to allow it, then sign in again."
        )
        return f"{said.rstrip('.')}. {fix}" if said else fix

    async def _exchange(self, grant: dict[str, Any]) -> Credentials:
        code, verifier = grant.get("authorization_code"), grant.get("code_verifier")
        if not isinstance(code, str) or not isinstance(verifier, str):
            raise UpstreamError("device authorization returned an unexpected answer")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{self._upstream.issuer}/deviceauth/callback",
            "client_id": self._upstream.client_id,
            "code_verifier": verifier,
        }
        body = await self._token_request("token exchange", form, refreshing=False)
        tokens = (str(body.get("id_token", "")), str(body["access_token"]))
        account = chatgpt_account_id(*tokens)
        if account is None:
            raise UpstreamError("the sign-in tokens carry no ChatGPT account id")
        refresh = body.get("refresh_token")
        return Credentials(
            provider=self.id,
            access=body["access_token"],
            refresh=refresh if isinstance(refresh, str) else None,
            expires_at=self._expiry(body),
            account_id=account,
            originator=self._originator,
            fedramp=fedramp_account(*tokens),
        )

    async def refresh(self, credentials: Credentials) -> Credentials:
        """Spend the (single-use) refresh token. A rejected one raises `Unauthorized`: the user
        must sign in again."""
        if not credentials.refresh:
            raise Unauthorized()
        form = {
            "grant_type": "refresh_token",
            "refresh_token": credentials.refresh,
            "client_id": self._upstream.client_id,
            "scope": "openid profile email",
        }
        body = await self._token_request("token refresh", form, refreshing=True)
        refresh = body.get("refresh_token")
        tokens = (str(body.get("id_token", "")), str(body["access_token"]))
        account = chatgpt_account_id(*tokens)
        return Credentials(
            provider=self.id,
            access=body["access_token"],
            refresh=refresh if isinstance(refresh, str) and refresh else credentials.refresh,
            expires_at=self._expiry(body),
            account_id=account or credentials.account_id,
            originator=credentials.originator,
            # A refresh often comes without an id token: the account stays what it was.
            fedramp=credentials.fedramp or fedramp_account(*tokens),
        )

    async def revoke(self, credentials: Credentials) -> None:
        """Revoke the sign-in at the auth server (`/oauth/revoke`, RFC 7009), as the Codex CLI
        does at logout: the refresh token ends the whole sign-in, else the access token."""
        token, hint = (
            (credentials.refresh, "refresh_token")
            if credentials.refresh
            else (credentials.access, "access_token")
        )
        form = {"token": token, "token_type_hint": hint, "client_id": self._upstream.client_id}
        request = self._http.build_request(
            "POST", f"{self._upstream.issuer}/oauth/revoke", data=form, headers=self._headers
        )
        response = await send(self._http, "token revocation", request)
        if not response.is_success:
            raise UpstreamError(f"token revocation failed with status {response.status_code}")

    async def _token_request(
        self, what: str, form: dict[str, str], *, refreshing: bool
    ) -> dict[str, Any]:
        request = self._http.build_request(
            "POST", f"{self._upstream.issuer}/oauth/token", data=form, headers=self._headers
        )
        response = await send(self._http, what, request)
        body = response.body
        if not response.is_success:
            rejected = (
                response.status_code in (400, 401) and oauth_error_code(body) in _REJECTED_REFRESH
            )
            if refreshing and rejected:
                raise Unauthorized()
            raise UpstreamError(f"{what} failed with status {response.status_code}")
        if body is None or not isinstance(body.get("access_token"), str):
            raise UpstreamError(f"{what} returned an unexpected answer")
        return body

    def _expiry(self, body: Mapping[str, Any]) -> float:
        now = self._clock.now()
        return now + access_lifetime(body, now, DEFAULT_ACCESS_TTL)


_DISABLED_WORDS = re.compile(r"device[ _-]?code[ _-]?(authori[sz]ation|authentication|login)", re.I)


def _says_device_login_disabled(body: Mapping[str, Any] | None) -> bool:
    """Whether an error answer speaks of device-code sign-in being off (its code or message:
    the real answer's exact shape is unconfirmed, the page's words are reported)."""
    if body is None:
        return False
    said = f"{oauth_error_code(body) or ''} {_error_message(body) or ''}"
    return _DISABLED_WORDS.search(said) is not None and (
        "disabled" in said.lower() or "enable" in said.lower()
    )


def _error_message(body: Mapping[str, Any] | None) -> str | None:
    """The (redacted, cut) message of an error answer in OpenAI's envelope, if any."""
    err = body.get("error") if body is not None else None
    return error_fields(err)[0] if isinstance(err, Mapping) else None
