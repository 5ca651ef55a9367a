"""The OAuth broker's routes (`/`, `/auth/*`), exactly as the wire contract gives them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from authai_embed.asgi.cookies import CookieMode
from authai_embed.asgi.errors import AUTH_UNAUTHORIZED
from authai_embed.asgi.http import JSONResponse, Request, Response
from authai_embed.auth.logins import LoginBroker
from authai_embed.auth.sessions import Sessions
from authai_embed.errors import InvalidRequest, Unauthorized
from authai_embed.providers.base import Provider
from authai_embed.providers.registry import canonical_provider_id

__all__ = ["AUTH_BODY_LIMIT", "AuthRoutes"]

AUTH_BODY_LIMIT = 16 * 1024
_POLL_PREFIX = "/auth/poll/"

Handler = Callable[[Request], Awaitable[Response]]


class AuthRoutes:
    """Route table and handlers of the broker. Errors propagate as exceptions; the app turns
    them into the contract's bodies."""

    __slots__ = ("_logins", "_providers", "_sessions", "_table", "cookie")

    def __init__(
        self, *, logins: LoginBroker, sessions: Sessions, providers: Mapping[str, Provider]
    ) -> None:
        self.cookie: CookieMode | None = None  # cookie mode, when the app turns it on
        self._logins = logins
        self._sessions = sessions
        self._providers = providers
        self._table: dict[str, tuple[str, Handler]] = {
            "/": ("GET", self.root),
            "/auth/providers": ("GET", self.list_providers),
            "/auth/start": ("POST", self.start),
            "/auth/whoami": ("GET", self.whoami),
            "/auth/revoke": ("POST", self.revoke),
        }

    def match(self, path: str) -> tuple[str, Handler] | None:
        """The (method, handler) serving `path`, or `None`."""
        if path.startswith(_POLL_PREFIX):
            return "GET", self.poll
        return self._table.get(path)

    async def root(self, request: Request) -> Response:
        """Liveness answer, the reference relay's exact body."""
        return JSONResponse({"ok": True, "service": "authai-relay"})

    async def list_providers(self, request: Request) -> Response:
        """The providers this mount offers, in order."""
        items = [{"id": p.id, "displayName": p.display_name} for p in self._providers.values()]
        return JSONResponse({"providers": items})

    async def start(self, request: Request) -> Response:
        """Open a device login; a missing provider means `openai`."""
        raw = await request.body(AUTH_BODY_LIMIT)
        body = await request.json(AUTH_BODY_LIMIT) if raw.strip() else {}
        if not isinstance(body, dict):
            raise InvalidRequest("request body must be a JSON object")
        name = body.get("provider", "openai")
        if name is None:
            name = "openai"
        if not isinstance(name, str):
            raise InvalidRequest("provider must be a string", param="provider")
        provider_id = canonical_provider_id(name)
        if provider_id is None or provider_id not in self._providers:
            raise InvalidRequest(f"unknown provider: {name[:64]}", param="provider")
        started = await self._logins.start(provider_id)
        return JSONResponse(
            {
                "sessionId": started.session_id,
                "provider": started.provider,
                "userCode": started.user_code,
                "verificationUrl": started.verification_url,
                "expiresInMs": started.expires_in_ms,
                "pollIntervalMs": started.poll_interval_ms,
            }
        )

    async def poll(self, request: Request) -> Response:
        """A login's status; `404` for an unknown session."""
        answer = await self._logins.poll(request.path[len(_POLL_PREFIX) :])
        if answer.jwt is not None and self.cookie is not None:
            return self.cookie.signed_in(answer.jwt)
        body: dict[str, str] = {"status": answer.status}
        if answer.jwt is not None:
            body["jwt"] = answer.jwt
        if answer.error is not None:
            body["error"] = answer.error
        return JSONResponse(body)

    async def whoami(self, request: Request) -> Response:
        """Who the bearer is: the opaque user id and provider. Never calls the provider."""
        session = await self._sessions.open_session(request.bearer_token())
        return JSONResponse(
            {
                "user": {"id": session.user_id, "provider": session.record.provider},
                "session": {"expires": session.claims.expires_at},
            }
        )

    async def revoke(self, request: Request) -> Response:
        """Delete the bearer's record; `204`. Cookie mode also clears the cookie, even when the
        session was already dead (the answer is then still the uniform 401)."""
        try:
            await self._sessions.revoke(request.bearer_token())
        except Unauthorized:
            if self.cookie is None:
                raise
            return self.cookie.signed_out(JSONResponse.from_bytes(AUTH_UNAUTHORIZED, 401))
        response = Response(b"", 204, [(b"cache-control", b"no-store")])
        return response if self.cookie is None else self.cookie.signed_out(response)
