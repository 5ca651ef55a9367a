"""Device-code sign-ins in progress: start, poll, and turn an approval into a session.

A pending login lives in the store (under the SHA-256 of its session id, sealed under a key
derived from it), so any worker can answer its polls and a database dump cannot finish it. Only
the poll that wins a compare-and-swap asks the provider: concurrent polls make one session.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, replace
from typing import Any

from authai_embed._util.clock import Clock
from authai_embed._util.logs import get_logger
from authai_embed.auth.sessions import Sessions
from authai_embed.auth.vault import Sealed, open_sealed, seal
from authai_embed.errors import NotFound, UpstreamError
from authai_embed.observe.calls import note_provider
from authai_embed.providers.base import Provider
from authai_embed.settings import Settings
from authai_embed.stores.base import AuthStore, LoginStatus, PendingLogin

__all__ = ["LoginBroker", "PollAnswer", "StartedLogin"]

logger = get_logger("logins")

_SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_MIN_INTERVAL = 1.0
_SLOW_DOWN_STEP = 5.0
_ASK_WINDOW = 130.0
PICKUP_WINDOW = 120.0
"""Seconds a completed login keeps answering with its JWT. The session id travels in a URL path,
which proxies and access logs may record, so the JWT is not left retrievable for long."""


@dataclass(frozen=True, slots=True)
class StartedLogin:
    """What `/auth/start` answers."""

    session_id: str
    provider: str
    user_code: str
    verification_url: str
    expires_in_ms: int
    poll_interval_ms: int


@dataclass(frozen=True, slots=True)
class PollAnswer:
    """What `/auth/poll/{id}` answers: a status, and the JWT or an error message (with its
    stable `code` and a `help_url` when the user can fix the cause, `device_code_disabled`)."""

    status: str
    jwt: str | None = None
    error: str | None = None
    code: str | None = None
    help_url: str | None = None


def _outcome(status: str, error: str | None, payload: dict[str, Any]) -> PollAnswer:
    """A final, unsuccessful answer; the code and link live in the sealed payload."""
    code, help_url = payload.get("code"), payload.get("help")
    return PollAnswer(
        status,
        error=error,
        code=code if isinstance(code, str) else None,
        help_url=help_url if isinstance(help_url, str) else None,
    )


def _login_id(session_id: str) -> str:
    return hashlib.sha256(b"authai login id\x00" + session_id.encode()).hexdigest()


def _login_key(session_id: str) -> bytes:
    return hashlib.sha256(b"authai login key\x00" + session_id.encode()).digest()


class LoginBroker:
    """Runs device-code sign-ins against the configured providers."""

    __slots__ = ("_clock", "_providers", "_sessions", "_settings", "_store")

    def __init__(
        self,
        *,
        store: AuthStore,
        providers: dict[str, Provider],
        sessions: Sessions,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._store = store
        self._providers = providers
        self._sessions = sessions
        self._settings = settings
        self._clock = clock

    async def start(self, provider_id: str) -> StartedLogin:
        """Open a device login with `provider_id` (canonical, enabled) and store it."""
        provider = self._providers[provider_id]
        note_provider(provider_id)
        device = await provider.start_device_login()
        session_id = secrets.token_urlsafe(32)
        login_id, key = _login_id(session_id), _login_key(session_id)
        now = self._clock.now()
        expires_in = max(1.0, min(float(self._settings.login_ttl), device.expires_in))
        interval = max(_MIN_INTERVAL, device.interval)
        sealed = self._seal(key, login_id, provider_id, {"state": dict(device.state), "jwt": None})
        await self._store.put_pending(
            PendingLogin(
                id=login_id,
                app_id=self._settings.app_id,
                provider=provider_id,
                iv=sealed.iv,
                blob=sealed.blob,
                status="pending",
                error=None,
                interval=interval,
                next_poll_at=now,
                expires_at=now + expires_in,
                created_at=now,
                version=1,
            )
        )
        logger.info("device login started provider=%s", provider_id)
        return StartedLogin(
            session_id=session_id,
            provider=provider_id,
            user_code=device.user_code,
            verification_url=device.verification_url,
            expires_in_ms=int(expires_in * 1000),
            poll_interval_ms=int(interval * 1000),
        )

    async def poll(self, session_id: str, *, label: str | None = None) -> PollAnswer:
        """Report a login's status, asking the provider at most once per interval.

        `label` names the session this poll may create ("Firefox on Linux"). Raises `NotFound`
        for an unknown or malformed session id.
        """
        if not _SESSION_ID_RE.match(session_id):
            raise NotFound("session not found")
        login_id, key = _login_id(session_id), _login_key(session_id)
        login = await self._store.get_pending(login_id)
        if login is None or login.app_id != self._settings.app_id:
            raise NotFound("session not found")
        now = self._clock.now()
        if login.status == "complete" and now >= login.expires_at:
            raise NotFound("session not found")
        note_provider(login.provider)
        payload = self._open(key, login)
        if login.status == "complete":
            return PollAnswer("complete", jwt=payload["jwt"])
        if login.status != "pending":
            return _outcome(login.status, login.error, payload)
        if now >= login.expires_at:
            await self._finish(login, key, payload, status="expired")
            return PollAnswer("expired")
        if now < login.next_poll_at:
            return PollAnswer("pending")
        # Claim the slot for as long as one ask can take (a poll plus a code exchange), so no
        # other poll asks meanwhile; a "pending" answer sets the real next time below.
        claimed = replace(
            login, next_poll_at=now + max(login.interval, _ASK_WINDOW), version=login.version + 1
        )
        if not await self._store.swap_pending(claimed, login.version):
            return PollAnswer("pending")  # another poll is asking the provider right now
        return await self._ask_provider(claimed, key, payload, label)

    async def _ask_provider(
        self, login: PendingLogin, key: bytes, payload: dict[str, Any], label: str | None
    ) -> PollAnswer:
        provider = self._providers.get(login.provider)
        if provider is None:
            return await self._finish(
                login, key, payload, status="error", error="provider disabled"
            )
        try:
            result = await provider.poll_device_login(payload["state"])
        except UpstreamError as exc:
            if exc.status >= 500:
                logger.warning("device login poll failed, will retry: %s", exc.message)
                await self._reschedule(login, login.interval)
                return PollAnswer("pending")
            return await self._finish(login, key, payload, status="error", error=exc.message)
        if result.status == "pending":
            await self._reschedule(login, login.interval)
            return PollAnswer("pending")
        if result.status == "slow_down":
            interval = max(result.interval or 0.0, login.interval + _SLOW_DOWN_STEP)
            await self._reschedule(login, interval)
            return PollAnswer("pending")
        if result.status == "expired":
            return await self._finish(login, key, payload, status="expired")
        if result.status == "denied" or result.credentials is None:
            message = result.message or "the sign-in was denied"
            if result.code is not None:
                payload = {**payload, "code": result.code, "help": result.help_url}
            return await self._finish(login, key, payload, status="error", error=message)
        jwt, _exp = await self._sessions.create_session(result.credentials, label=label)
        logger.info("device login complete provider=%s", login.provider)
        pickup_until = min(login.expires_at, self._clock.now() + PICKUP_WINDOW)
        return await self._finish(
            login, key, {"state": {}, "jwt": jwt}, status="complete", expires_at=pickup_until
        )

    async def _reschedule(self, login: PendingLogin, interval: float) -> None:
        """Release the poll claim: the next upstream ask is due `interval` from now."""
        later = replace(
            login,
            interval=interval,
            next_poll_at=self._clock.now() + interval,
            version=login.version + 1,
        )
        await self._store.swap_pending(later, login.version)

    async def _finish(
        self,
        login: PendingLogin,
        key: bytes,
        payload: dict[str, Any],
        *,
        status: LoginStatus,
        error: str | None = None,
        expires_at: float | None = None,
    ) -> PollAnswer:
        """Record a final status. A lost swap means another poll finished first: report its
        outcome instead, so every poll of one login sees the same answer."""
        sealed = self._seal(key, login.id, login.provider, payload)
        done = replace(
            login,
            iv=sealed.iv,
            blob=sealed.blob,
            status=status,
            error=error,
            expires_at=login.expires_at if expires_at is None else expires_at,
            version=login.version + 1,
        )
        if await self._store.swap_pending(done, login.version):
            if status == "complete":
                return PollAnswer(status, jwt=payload.get("jwt"))
            return _outcome(status, error, payload)
        current = await self._store.get_pending(login.id)
        if current is None:
            raise NotFound("session not found")
        if current.status == "complete":
            return PollAnswer("complete", jwt=self._open(key, current)["jwt"])
        return _outcome(current.status, current.error, self._open(key, current))

    @staticmethod
    def _seal(key: bytes, login_id: str, provider: str, payload: dict[str, Any]) -> Sealed:
        data = json.dumps(payload, separators=(",", ":")).encode()
        return seal(key, data, record_id=login_id, provider=provider)

    @staticmethod
    def _open(key: bytes, login: PendingLogin) -> dict[str, Any]:
        data = open_sealed(
            key, Sealed(login.iv, login.blob), record_id=login.id, provider=login.provider
        )
        payload: dict[str, Any] = json.loads(data)
        return payload
