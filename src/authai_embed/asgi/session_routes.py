"""The handlers of a user's session controls (ours): list their sessions, end one, end all.

Each takes the caller's own session (bearer header, or the cookie in cookie mode) and acts on
that user's sessions only: an id that is not the caller's answers exactly as a missing one.
"""

from __future__ import annotations

from authai_embed.asgi.cookies import CookieMode
from authai_embed.asgi.errors import AUTH_UNAUTHORIZED
from authai_embed.asgi.http import JSONResponse, Request, Response
from authai_embed.auth.sessions import Sessions
from authai_embed.errors import Unauthorized

__all__ = ["SESSIONS_PATH", "SessionRoutes"]

SESSIONS_PATH = "/auth/sessions"
_NOT_FOUND = b'{"error":"session not found"}'


class SessionRoutes:
    """`POST /auth/revoke-all`, `GET /auth/sessions`, `DELETE /auth/sessions/{id}`."""

    __slots__ = ("_cookie", "_sessions")

    def __init__(self, sessions: Sessions, cookie: CookieMode | None) -> None:
        self._sessions = sessions
        self._cookie = cookie

    async def revoke_all(self, request: Request) -> Response:
        """Sign the caller's user out everywhere; `204`. Cookie mode clears the cookie, also
        when the session was already dead (the answer is then the uniform 401)."""
        try:
            await self._sessions.revoke_all(request.bearer_token())
        except Unauthorized:
            if self._cookie is None:
                raise
            return self._cookie.signed_out(JSONResponse.from_bytes(AUTH_UNAUTHORIZED, 401))
        return self._signed_out(_no_content())

    async def list_sessions(self, request: Request) -> Response:
        """The caller's user's sessions, oldest first; `current` marks the caller's."""
        session = await self._sessions.open_session(request.bearer_token())
        infos = await self._sessions.accounts.describe(session.user_id, current=session.record)
        items = [
            {
                "id": info.session_id,
                "provider": info.provider,
                "created": int(info.created_at),
                "lastUsed": None if info.last_used_at is None else int(info.last_used_at),
                "label": info.label,
                "current": info.current,
            }
            for info in infos
        ]
        return JSONResponse({"sessions": items})

    async def end_session(self, request: Request) -> Response:
        """End one of the caller's user's sessions by id: `204`, or `404` when the user has no
        such session. Ending the caller's own is a sign-out (`POST /auth/revoke`)."""
        session = await self._sessions.open_session(request.bearer_token())
        wanted = request.path[len(SESSIONS_PATH) + 1 :]
        accounts = self._sessions.accounts
        if wanted == accounts.public_id(session.record):
            await self._sessions.end(session, "signed_out")
            return self._signed_out(_no_content())
        if not await accounts.end(session.user_id, wanted):
            return JSONResponse.from_bytes(_NOT_FOUND, 404)
        return _no_content()

    def _signed_out(self, response: Response) -> Response:
        return response if self._cookie is None else self._cookie.signed_out(response)


def _no_content() -> Response:
    return Response(b"", 204, [(b"cache-control", b"no-store")])
