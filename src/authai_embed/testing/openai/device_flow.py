"""ChatGPT device-code sign-in, emulated: user codes, the device's polls, approval and denial.

Errors use OpenAI's envelope `{"error": {"message", "type", "param", "code"}}`; a pending sign-in
is the real server's 403 `deviceauth_authorization_unknown`, which clients treat as "keep
polling". Each endpoint's answers are listed on its handler.
"""

from __future__ import annotations

from datetime import UTC, datetime

from authai_embed.asgi.http import JSONResponse, Request, Response
from authai_embed.testing.openai import mint
from authai_embed.testing.openai.accounts import Account
from authai_embed.testing.openai.state import AuthorizationCode, AuthState, DeviceAuthorization
from authai_embed.testing.user_codes import (
    ApprovalError,
    answerable,
    new_user_code,
    normalize_user_code,
)
from authai_embed.testing.wire import openai_error

__all__ = ["DeviceFlow"]

_PENDING_CODE = "deviceauth_authorization_unknown"
_DISABLED_CODE = "device_code_authorization_disabled"
WORKSPACE_PLANS = frozenset({"team", "business", "enterprise", "edu"})
_PENDING_MESSAGE = "Device authorization is unknown. Please try again."


def disabled_message(account: Account) -> str:
    """What the sign-in page tells a person whose account has device-code sign-in off: the
    workspace message for workspace plans, else the security-settings one (both as reported)."""
    if account.plan in WORKSPACE_PLANS:
        return "Please contact your workspace admin to enable device code authentication."
    return (
        "Enable device code authorization for Codex in ChatGPT Security Settings, then start "
        "the sign-in again."
    )


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DeviceFlow:
    """The device-code endpoints and the person's approve/deny actions, on a shared `AuthState`."""

    def __init__(self, state: AuthState) -> None:
        self.state = state

    # The person's side --------------------------------------------------------------------

    def approve(self, user_code: str, account: str | None = None) -> None:
        """Approve a pending code for `account` (the default account if `None`).

        Raises `ApprovalError` for an unknown, expired or already answered code, an unknown
        account, or an account that has not allowed device-code sign-in.
        """
        state = self.state
        with state.lock:
            device = self._answerable(user_code)
            try:
                chosen = state.account(account)
            except KeyError as exc:
                raise ApprovalError(str(exc.args[0])) from None
            if not chosen.device_login_enabled:
                # Final for this code, as users report: they enable the setting, then start over.
                device.status = "disabled"
                device.refusal = disabled_message(chosen)
                raise ApprovalError(device.refusal)
            verifier = mint.pkce_verifier()
            grant = AuthorizationCode(
                code=mint.authorization_code(),
                verifier=verifier,
                challenge=mint.pkce_challenge(verifier),
                account_id=chosen.account_id,
                client_id=device.client_id,
                expires_at=state.clock.now() + state.knobs.authorization_code_ttl,
            )
            state.codes[grant.code] = grant
            device.status, device.grant = "approved", grant
            state.stats.approvals += 1

    def deny(self, user_code: str) -> None:
        """Deny a pending code; the device's next poll fails with `access_denied`."""
        with self.state.lock:
            self._answerable(user_code).status = "denied"
            self.state.stats.denials += 1

    def _answerable(self, code: str) -> DeviceAuthorization:
        device = self.state.by_user_code.get(normalize_user_code(code))
        return answerable(device, self.state.clock.now())

    def device_authorizations(self) -> list[DeviceAuthorization]:
        """Every device-code sign-in so far, oldest first."""
        with self.state.lock:
            return list(self.state.devices.values())

    # The device's side (HTTP) -------------------------------------------------------------

    async def usercode(self, request: Request) -> Response:
        """`POST /api/accounts/deviceauth/usercode`, JSON `{"client_id"}`: start a sign-in.

        200 `{"device_auth_id", "user_code", "interval": "5", "expires_at": "<ISO 8601, UTC>"}`;
        400 `invalid_request` (no client_id) or `invalid_client` (unknown one); 404 `not_found`
        while `knobs.device_login_available` is off.
        """
        state = self.state
        if not state.knobs.device_login_available:
            return openai_error(404, "not_found", "Device code sign-in is not available.")
        body = await request.json(state.knobs.max_body)
        client_id = body.get("client_id") if isinstance(body, dict) else None
        if not isinstance(client_id, str) or not client_id:
            return openai_error(400, "invalid_request", "client_id is required.")
        if client_id != state.knobs.client_id:
            return openai_error(400, "invalid_client", "Unknown client_id.")
        with state.lock:
            code = new_user_code()
            while normalize_user_code(code) in state.by_user_code:
                code = new_user_code()
            device = DeviceAuthorization(
                device_auth_id=mint.device_auth_id(),
                user_code=code,
                client_id=client_id,
                originator=request.headers.get("originator"),
                expires_at=state.clock.now() + state.knobs.device_code_ttl,
            )
            state.devices[device.device_auth_id] = device
            state.by_user_code[normalize_user_code(code)] = device
            state.stats.device_codes += 1
            answer = {
                "device_auth_id": device.device_auth_id,
                "user_code": code,
                "interval": state.knobs.interval,
                "expires_at": _iso(device.expires_at),
            }
        return JSONResponse(answer)

    async def poll(self, request: Request) -> Response:
        """`POST /api/accounts/deviceauth/token`, JSON `{"device_auth_id", "user_code"}`: the
        device asks whether the person answered.

        403 `deviceauth_authorization_unknown` ("Device authorization is unknown. Please try
        again."): still pending, or an unknown id/code pair. 200 `{"authorization_code",
        "code_verifier", "code_challenge"}` once approved (PKCE S256); every later poll returns
        the same grant, whose code the exchange spends. 400 `access_denied` once denied; 403
        `device_code_authorization_disabled` with the page's message once an account without
        device-code sign-in tried to approve (the real answer is unconfirmed); 410
        `expired_token` after `device_code_ttl`; 429 `slow_down` + `Retry-After`, only with
        `knobs.enforce_interval`, for a poll sooner than `interval` after the previous one (that
        poll also restarts the wait).
        """
        state = self.state
        with state.lock:
            state.stats.device_polls += 1
        body = await request.json(state.knobs.max_body)
        if not isinstance(body, dict):
            return openai_error(400, "invalid_request", "The body must be a JSON object.")
        device_auth_id, user_code = body.get("device_auth_id"), body.get("user_code")
        if not isinstance(device_auth_id, str) or not isinstance(user_code, str):
            return openai_error(
                400, "invalid_request", "device_auth_id and user_code are required."
            )
        with state.lock:
            device = state.devices.get(device_auth_id)
            if device is None or normalize_user_code(device.user_code) != normalize_user_code(
                user_code
            ):
                return openai_error(403, _PENDING_CODE, _PENDING_MESSAGE)
            return self._poll_answer(device)

    def _poll_answer(self, device: DeviceAuthorization) -> Response:
        state = self.state
        now = state.clock.now()
        previous, device.last_poll = device.last_poll, now
        interval = state.knobs.interval_seconds()
        if state.knobs.enforce_interval and previous is not None and now - previous < interval:
            state.stats.slow_downs += 1
            retry = str(max(1, round(interval))).encode()
            message = "Polling too often; wait the interval between polls."
            return openai_error(429, "slow_down", message, headers=[(b"retry-after", retry)])
        if now >= device.expires_at:
            return openai_error(410, "expired_token", "The device code has expired.")
        if device.status == "denied":
            return openai_error(400, "access_denied", "The sign-in was denied.")
        if device.status == "disabled":
            return openai_error(403, _DISABLED_CODE, device.refusal or "")
        if device.grant is None:
            return openai_error(403, _PENDING_CODE, _PENDING_MESSAGE)
        grant = device.grant
        return JSONResponse(
            {
                "authorization_code": grant.code,
                "code_verifier": grant.verifier,
                "code_challenge": grant.challenge,
            }
        )
