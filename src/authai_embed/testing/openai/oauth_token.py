"""The auth server's OAuth endpoints, emulated: code exchange, refresh with rotation, revocation.

Bodies may be form-encoded or JSON, as the real server accepts both. Refresh rejections use the
codes the Codex CLI treats as permanent (codex-rs/login/src/auth/manager.rs); each endpoint's
answers are listed on its handler.
"""

from __future__ import annotations

import hmac

import anyio

import authai_embed.testing.tokens as tokens
from authai_embed.asgi.http import JSONResponse, Request, Response
from authai_embed.testing.openai import mint
from authai_embed.testing.openai.accounts import Account
from authai_embed.testing.openai.state import AuthState
from authai_embed.testing.token_ledger import Family
from authai_embed.testing.wire import lifetime_field, oauth_error, openai_error, read_params

__all__ = ["ID_TOKEN_TTL", "TokenEndpoint"]

ID_TOKEN_TTL = 3600
_REFRESH_REJECTIONS = {
    "reused": (
        "refresh_token_reused",
        "Your refresh token has already been used to generate a new access token. "
        "Please try signing in again.",
    ),
    "invalidated": ("refresh_token_invalidated", "Your session has ended. Please log in again."),
    "expired": ("refresh_token_expired", "Your refresh token has expired. Please log in again."),
}


class TokenEndpoint:
    """`/oauth/token` and `/oauth/revoke`, plus the token checks tests and the model side use."""

    def __init__(self, state: AuthState) -> None:
        self.state = state

    # Checks and knobs for tests -----------------------------------------------------------

    def check_access_token(self, token: str) -> Account | None:
        """The account of a valid access token (issued here, unexpired, unrevoked), else `None`."""
        state = self.state
        with state.lock:
            family = state.ledger.access_family(token, state.clock.now())
            return None if family is None else state.account(family.account_id)

    def revoke_token(self, token: str) -> bool:
        """Revoke a token as `/oauth/revoke` does; `False` if it was never issued here."""
        with self.state.lock:
            return self.state.ledger.revoke_token(token)

    def revoke_account(self, account_id: str) -> int:
        """Revoke every token of an account (as a password change would); returns sign-ins ended."""
        with self.state.lock:
            return self.state.ledger.revoke_account(account_id)

    def issued_tokens(self) -> list[str]:
        """Every access, id and refresh token issued so far (each contains `TOKEN_MARKER`)."""
        with self.state.lock:
            return self.state.ledger.issued()

    # HTTP ---------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        """`POST /oauth/token`: the code exchange or a refresh.

        `grant_type=authorization_code` with `code`, `redirect_uri` (`{issuer}/deviceauth/
        callback`), `client_id`, `code_verifier` (checked against the S256 challenge): 200
        `{"id_token", "access_token", "refresh_token", "expires_in", "token_type": "Bearer",
        "scope"}` and the code is spent; 400 `{"error": "invalid_request" | "invalid_grant",
        "error_description"}` (RFC 6749) for a missing parameter, an unknown, spent or expired
        code, a redirect_uri or PKCE mismatch; 401 `invalid_client` for another client_id.

        `grant_type=refresh_token` with `refresh_token`, `client_id`: 200 the same shape with a
        NEW refresh token (rotation). A spent, revoked or expired one is 401 in OpenAI's
        envelope with `refresh_token_reused`, `refresh_token_invalidated` or
        `refresh_token_expired` (`knobs.refresh_rejection = "invalid_grant"`: RFC 6749's 400
        `invalid_grant` instead); a string never issued is 400 `invalid_grant`.
        """
        params = await read_params(request, self.state.knobs.max_body)
        grant_type = params.get("grant_type")
        with self.state.lock:
            if grant_type == "authorization_code":
                return self._exchange(params)
            if grant_type == "refresh_token":
                return self._refresh(params)
        return oauth_error(400, "unsupported_grant_type", "grant_type is not supported.")

    async def revoke(self, request: Request) -> Response:
        """`POST /oauth/revoke` `{"token", "token_type_hint"?, "client_id"?}` (RFC 7009): 200
        `{}`, known token or not. A refresh token ends its whole sign-in; an access token only
        itself. `knobs.revoke_failure`: 503 (`error`) or no answer at all (`hang`)."""
        params = await read_params(request, self.state.knobs.max_body)
        token = params.get("token")
        if not token:
            return oauth_error(400, "invalid_request", "token is required.")
        failure = self.state.knobs.revoke_failure
        if failure == "hang":
            await anyio.sleep_forever()
        if failure == "error":
            return oauth_error(503, "temporarily_unavailable", "Try again later.")
        with self.state.lock:
            if self.state.ledger.revoke_token(token):
                self.state.stats.revocations += 1
        return JSONResponse({})

    # Rules (called with the lock held) ----------------------------------------------------

    def _exchange(self, params: dict[str, str]) -> Response:
        state = self.state
        for name in ("code", "redirect_uri", "client_id", "code_verifier"):
            if not params.get(name):
                return self._reject_exchange(400, "invalid_request", f"{name} is required.")
        if params["client_id"] != state.knobs.client_id:
            return self._reject_exchange(401, "invalid_client", "Unknown client_id.")
        grant = state.codes.get(params["code"])
        if grant is None:
            return self._reject_exchange(400, "invalid_grant", "The code is not valid.")
        challenge = mint.pkce_challenge(params["code_verifier"])
        problem = None
        if grant.used:
            problem = "The authorization code was already used."
        elif state.clock.now() >= grant.expires_at:
            problem = "The authorization code has expired."
        elif grant.client_id != params["client_id"]:
            problem = "The authorization code was issued to another client."
        elif params["redirect_uri"] != state.knobs.redirect_uri:
            problem = "redirect_uri does not match the authorization request."
        elif not hmac.compare_digest(challenge, grant.challenge):
            problem = "code_verifier does not match the code challenge."
        if problem is not None:
            return self._reject_exchange(400, "invalid_grant", problem)
        grant.used = True
        family = state.ledger.new_family(grant.account_id, grant.client_id)
        state.stats.exchanges += 1
        return JSONResponse(self._issue(state.account(grant.account_id), family))

    def _reject_exchange(self, status: int, error: str, description: str) -> Response:
        self.state.stats.rejected_exchanges += 1
        return oauth_error(status, error, description)

    def _refresh(self, params: dict[str, str]) -> Response:
        state = self.state
        token, client_id = params.get("refresh_token"), params.get("client_id")
        if not token or not client_id:
            return oauth_error(400, "invalid_request", "refresh_token and client_id are required.")
        if client_id != state.knobs.client_id:
            return oauth_error(401, "invalid_client", "Unknown client_id.")
        verdict, entry = state.ledger.refresh_verdict(token, state.clock.now())
        if verdict == "reused":
            state.stats.refresh_reuses += 1
            if entry is not None and state.knobs.revoke_family_on_reuse:
                entry.family.revoked = True
        if verdict != "ok" or entry is None:
            state.stats.rejected_refreshes += 1
            if verdict == "unknown":
                state.stats.refresh_failures.append("invalid_grant")
                return oauth_error(400, "invalid_grant", "The refresh token is not valid.")
            code, message = _REFRESH_REJECTIONS[verdict]
            state.stats.refresh_failures.append(code)
            if state.knobs.refresh_rejection == "invalid_grant":
                return oauth_error(400, "invalid_grant", message)
            return openai_error(401, code, message)
        entry.rotated = True
        state.stats.refreshes += 1
        return JSONResponse(self._issue(state.account(entry.family.account_id), entry.family))

    def _issue(self, account: Account, family: Family) -> dict[str, object]:
        state = self.state
        now, ttl = int(state.clock.now()), state.knobs.access_ttl
        issuer = state.knobs.issuer.rstrip("/")
        access = tokens.jwt_shaped(
            mint.access_claims(
                issuer=issuer,
                client_id=family.client_id,
                account=account,
                now=now,
                ttl=ttl,
                session_id=family.family_id,
            ),
            state.kid,
        )
        id_token = tokens.jwt_shaped(
            mint.id_claims(
                issuer=issuer,
                client_id=family.client_id,
                account=account,
                now=now,
                ttl=ID_TOKEN_TTL,
                session_id=family.family_id,
            ),
            state.kid,
        )
        refresh, refresh_ttl = mint.refresh_token(), state.knobs.refresh_ttl
        state.ledger.record(
            family,
            access=access,
            access_expires_at=now + ttl,
            id_token=id_token,
            refresh=refresh,
            refresh_expires_at=None if refresh_ttl is None else now + refresh_ttl,
        )
        return lifetime_field(
            {
                "id_token": id_token,
                "access_token": access,
                "refresh_token": refresh,
                "token_type": "Bearer",
                "scope": mint.SCOPE,
            },
            ttl,
            state.knobs.expires_in,
        )
