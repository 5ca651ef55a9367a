"""The handlers of the OAuth broker (`/`, `/auth/*`), answering exactly as the wire contract
says; the routes and their guards are in `app.py`'s table."""

from __future__ import annotations

from collections.abc import Mapping

from authai_embed._util.user_agent import device_label
from authai_embed.asgi.cookies import CookieMode
from authai_embed.asgi.errors import AUTH_UNAUTHORIZED
from authai_embed.asgi.http import JSONResponse, Request, Response
from authai_embed.auth.logins import LoginBroker
from authai_embed.auth.sessions import Sessions
from authai_embed.errors import InvalidRequest, Unauthorized
from authai_embed.providers.base import Provider
from authai_embed.providers.registry import canonical_provider_id

__all__ = ["AUTH_BODY_LIMIT", "POLL_PREFIX", "AuthRoutes", "loggable_path"]

AUTH_BODY_LIMIT = 16 * 1024
POLL_PREFIX = "/auth/poll/"  # followed by the login id (the wire's `sessionId`)


def loggable_path(path: str) -> str:
    """`path` as the request log shows it: a login id is a bearer secret, never logged."""
    return "/auth/poll/…" if path.startswith(POLL_PREFIX) else path[:200]


class AuthRoutes:
    """The broker's handlers. Errors propagate as exceptions; the app answers them."""

    __slots__ = ("_logins", "_providers", "_sessions", "cookie")

    def __init__(
        self,
        logins: LoginBroker,
        sessions: Sessions,
        providers: Mapping[str, Provider],
        cookie: CookieMode | None,
    ) -> None:
        self.cookie = cookie  # cookie mode, or None when it is off
        self._logins = logins
        self._sessions = sessions
        self._providers = providers

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
        if provider_id is None:
            raise InvalidRequest(
                f"unknown provider: {name[:64]}", param="provider", code="unknown_provider"
            )
        if provider_id not in self._providers:
            enabled = ", ".join(self._providers) or "none"
            raise InvalidRequest(
                f"provider not enabled on this server: {provider_id} (enabled: {enabled})",
                param="provider",
                code="provider_not_enabled",
            )
        started = await self._logins.start(provider_id)
        return JSONResponse(
            {
                "sessionId": started.session_id,  # the login id, by its wire name
                "provider": started.provider,
                "userCode": started.user_code,
                "verificationUrl": started.verification_url,
                "expiresInMs": started.expires_in_ms,
                "pollIntervalMs": started.poll_interval_ms,
            }
        )

    async def poll(self, request: Request) -> Response:
        """A login's status; `404` for an unknown login id."""
        label = device_label(request.headers.get("user-agent"))
        answer = await self._logins.poll(request.path[len(POLL_PREFIX) :], label=label)
        if answer.jwt is not None and self.cookie is not None:
            return self.cookie.signed_in(answer.jwt)
        body: dict[str, str] = {"status": answer.status}
        if answer.jwt is not None:
            body["jwt"] = answer.jwt
        if answer.error is not None:  # the login's outcome (`expired`, ...), not a failure
            body["error"] = answer.error
        if answer.code is not None:  # (ours) a stable code, and where the user can fix it
            body["code"] = answer.code
        if answer.help_url is not None:
            body["help"] = answer.help_url
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
