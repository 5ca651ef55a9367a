"""The upstream emulator: one pure-ASGI app standing in for ChatGPT, GitHub + Copilot and xAI.

It routes on the path below its mount point, so it can be served at the root or under a prefix.
Each upstream is a package plugged in with `route(...)` lines: `openai/` (the auth server),
`codex/` (the Codex backend), `github/` and `xai/`; their modules document the wire.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from authai_embed._util.clock import Clock, SystemClock
from authai_embed.asgi.http import Request, Response, StreamingResponse
from authai_embed.errors import InvalidRequest
from authai_embed.testing.codex.backend import (
    MODELS_PATH,
    RESPONSES_PATH,
    USAGE_PATH,
    CodexBackend,
)
from authai_embed.testing.github.server import GitHubSide
from authai_embed.testing.openai.accounts import Account, new_account
from authai_embed.testing.openai.device_flow import DeviceFlow
from authai_embed.testing.openai.device_page import device_page
from authai_embed.testing.openai.oauth_token import TokenEndpoint
from authai_embed.testing.openai.state import (
    CODEX_CLIENT_ID,
    AuthKnobs,
    AuthState,
    AuthStats,
    DeviceAuthorization,
)
from authai_embed.testing.wire import openai_error
from authai_embed.testing.xai.server import XAISide
from authai_embed.types import Receive, Scope, Send

__all__ = ["DEFAULT_ISSUER", "Emulator", "Handler"]

DEFAULT_ISSUER = "http://auth.emulator.test"

Handler = Callable[[Request], Awaitable[Response | StreamingResponse]]
"""An endpoint: gets the request (path already below the mount), returns the response."""


class Emulator:
    """ChatGPT's auth server and Codex backend, GitHub + Copilot (`emulator.github`) and xAI
    (`emulator.xai`), as one ASGI app.

    All state lives on the instance; time comes only from `clock`. Knobs can be given here or
    changed later on `emulator.knobs` (see `AuthKnobs`). Safe to drive from tests in another
    thread than the one serving requests.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        issuer: str = DEFAULT_ISSUER,
        client_id: str = CODEX_CLIENT_ID,
        interval: str | int = "5",
        device_code_ttl: float = 15 * 60,
        enforce_interval: bool = False,
        access_ttl: int = 3600,
        refresh_ttl: float | None = None,
        revoke_family_on_reuse: bool = False,
        refresh_rejection: Literal["codes", "invalid_grant"] = "codes",
    ) -> None:
        self.clock: Clock = clock if clock is not None else SystemClock()
        knobs = AuthKnobs(
            issuer=issuer.rstrip("/"),
            client_id=client_id,
            interval=interval,
            device_code_ttl=device_code_ttl,
            enforce_interval=enforce_interval,
            access_ttl=access_ttl,
            refresh_ttl=refresh_ttl,
            revoke_family_on_reuse=revoke_family_on_reuse,
            refresh_rejection=refresh_rejection,
        )
        self.auth = AuthState(self.clock, knobs)
        self.device_flow = DeviceFlow(self.auth)
        self.oauth = TokenEndpoint(self.auth)
        self.device_page = device_page(self.auth, self.device_flow)
        self._routes: dict[str, dict[str, Handler]] = {}
        self.route("POST", "/api/accounts/deviceauth/usercode", self.device_flow.usercode)
        self.route("POST", "/api/accounts/deviceauth/token", self.device_flow.poll)
        self.route("GET", self.device_page.path, self.device_page.show)
        self.route("POST", self.device_page.path, self.device_page.submit)
        self.route("POST", "/oauth/token", self.oauth.token)
        self.route("POST", "/oauth/revoke", self.oauth.revoke)
        # The model side (ChatGPT's Codex backend): scripts, knobs, stats on `emulator.codex`.
        self.codex = CodexBackend(self.auth, self.oauth.check_access_token)
        self.route("POST", RESPONSES_PATH, self.codex.responses)
        self.route("GET", MODELS_PATH, self.codex.models)
        self.route("GET", USAGE_PATH, self.codex.usage)
        # GitHub + Copilot and xAI, each under its own path prefix (see their modules).
        self.github = GitHubSide(self.clock, lambda: self.auth.knobs.issuer)
        self.xai = XAISide(self.clock, lambda: self.auth.knobs.issuer)
        for method, path, handler in (*self.github.routes(), *self.xai.routes()):
            self.route(method, path, handler)

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Serve `method path` (path below the mount point) with `handler`."""
        self._routes.setdefault(path, {})[method.upper()] = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise RuntimeError("the emulator serves HTTP only")
        request = Request(scope, receive)
        path = request.path.rstrip("/") or "/"
        methods = self._routes.get(path)
        response: Response | StreamingResponse
        if methods is None:
            response = openai_error(404, "not_found", f"No route for {path}.")
        elif request.method not in methods:
            allow = ", ".join(sorted(methods)).encode()
            response = openai_error(
                405, "method_not_allowed", "Method not allowed.", headers=[(b"allow", allow)]
            )
        else:
            try:
                response = await methods[request.method](request)
            except InvalidRequest as exc:
                response = openai_error(exc.status, "invalid_request", exc.message)
        await response(scope, receive, send)

    # Public knobs and views ---------------------------------------------------------------

    @property
    def knobs(self) -> AuthKnobs:
        """The auth server's live settings."""
        return self.auth.knobs

    @property
    def stats(self) -> AuthStats:
        """Counters: device codes, polls, exchanges, refreshes, rejections..."""
        return self.auth.stats

    @property
    def issuer(self) -> str:
        """The issuer URL (the `iss` claim, the base of `redirect_uri`)."""
        return self.auth.knobs.issuer

    @property
    def verification_url(self) -> str:
        """Where a person types the user code."""
        return f"{self.issuer}/codex/device"

    @property
    def default_account(self) -> Account:
        """The account approvals use when none is named."""
        return self.auth.account()

    def add_account(
        self,
        account_id: str,
        *,
        email: str | None = None,
        plan: str = "plus",
        device_login_enabled: bool = True,
        user_id: str | None = None,
        fedramp: bool = False,
    ) -> Account:
        """Add a ChatGPT account people can approve codes with; `ValueError` if the id is taken.
        `fedramp=True`: a FedRAMP workspace (its model calls need `X-OpenAI-Fedramp: true`)."""
        account = new_account(
            account_id,
            email=email,
            plan=plan,
            device_login_enabled=device_login_enabled,
            user_id=user_id,
            fedramp=fedramp,
        )
        return self.auth.add(account)

    def account(self, account_id: str) -> Account:
        """An account by id (mutable: flip `device_login_enabled` or `plan` from a test)."""
        return self.auth.account(account_id)

    def approve(self, user_code: str, account: str | None = None) -> None:
        """Approve a pending user code as the person would; `ValueError` (`ApprovalError`) if
        the code is unknown, expired or answered, or the account disallows device sign-in."""
        self.device_flow.approve(user_code, account=account)

    def deny(self, user_code: str) -> None:
        """Deny a pending user code as the person would."""
        self.device_flow.deny(user_code)

    def device_authorizations(self) -> list[DeviceAuthorization]:
        """Every device-code sign-in so far, oldest first (with the `originator` each sent)."""
        return self.device_flow.device_authorizations()

    def check_access_token(self, token: str) -> Account | None:
        """The account of a valid access token (issued here, unexpired, unrevoked), else `None`."""
        return self.oauth.check_access_token(token)

    def revoke_token(self, token: str) -> bool:
        """Revoke one token; a refresh token ends its whole sign-in. `False` if unknown."""
        return self.oauth.revoke_token(token)

    def revoke_account(self, account_id: str) -> int:
        """Revoke every token of an account; its refreshes then fail `refresh_token_invalidated`."""
        return self.oauth.revoke_account(account_id)

    def issued_tokens(self) -> list[str]:
        """Every access, id and refresh token issued so far; each contains `TOKEN_MARKER`."""
        return self.oauth.issued_tokens()


async def _lifespan(receive: Receive, send: Send) -> None:
    """Accept startup and shutdown, so the emulator can also run under a plain ASGI server."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
