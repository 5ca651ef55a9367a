"""From a session JWT to usable credentials, and from fresh credentials to a new session.

Every sign-in is its own session (record and key); a user's sessions as a whole are
`account_sessions.py`'s. Any failure to open a session is the same `Unauthorized`. Refresh
tokens are single-use, so at most one refresh per record runs at a time, across processes (a
lock, then a store lease); a waiter uses the winner's tokens and never spends the refresh token
again. docs/operations.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from secrets import token_hex, token_urlsafe

import anyio

from authai_embed._util.clock import Clock
from authai_embed._util.keyed_lock import KeyedLocks
from authai_embed._util.logs import get_logger
from authai_embed.auth.account_sessions import AccountSessions, EndReason
from authai_embed.auth.identity import user_id
from authai_embed.auth.session_jwt import SessionClaims, SessionSigner
from authai_embed.auth.vault import Sealed, new_key, open_sealed, seal
from authai_embed.credentials import Credentials
from authai_embed.errors import StoreError, Unauthorized, UpstreamError
from authai_embed.observe.bus import EventBus
from authai_embed.observe.telemetry import Telemetry
from authai_embed.providers.base import Provider
from authai_embed.settings import Secrets, Settings
from authai_embed.stores.base import AuthStore, Record

__all__ = ["Session", "Sessions"]

logger = get_logger("sessions")

LEASE_SECONDS = 30.0
UPSTREAM_REVOKE_TIMEOUT = 3.0
"""Seconds a sign-out waits for the provider's token revocation before giving up on it."""
_LEASE_WAIT = 40.0


@dataclass(frozen=True, slots=True)
class Session:
    """An authenticated request's view: the verified claims, the record and its credentials."""

    claims: SessionClaims
    record: Record
    credentials: Credentials

    @property
    def user_id(self) -> str:
        """The opaque, stable user id (HMAC of provider and account id)."""
        return self.record.account_id_hash


class Sessions:
    """Owns the path between JWTs, stored records and decrypted credentials."""

    def __init__(
        self,
        *,
        store: AuthStore,
        signer: SessionSigner,
        secrets: Secrets,
        settings: Settings,
        clock: Clock,
        providers: Mapping[str, Provider],
        events: EventBus | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._telemetry = telemetry
        self._store = store
        self._signer = signer
        self._secrets = secrets
        self._settings = settings
        self._clock = clock
        self._providers = providers
        self._locks = KeyedLocks()
        self._owner = token_hex(8)
        self.accounts = AccountSessions(
            store=store,
            identity_key=secrets.identity_key,
            settings=settings,
            clock=clock,
            events=events,
        )

    async def create_session(
        self, credentials: Credentials, *, label: str | None = None
    ) -> tuple[str, int]:
        """Store `credentials` in a new record sealed under a fresh key; return (JWT, exp).

        The user's other sessions stay, up to `max_sessions_per_user`: past it, the oldest end.
        """
        now = self._clock.now()
        key = new_key()
        record_id = token_urlsafe(16)
        sealed = seal(
            key, credentials.to_plaintext(), record_id=record_id, provider=credentials.provider
        )
        record = Record(
            id=record_id,
            app_id=self._settings.app_id,
            provider=credentials.provider,
            account_id_hash=user_id(
                self._secrets.identity_key, credentials.provider, credentials.account_id
            ),
            iv=sealed.iv,
            blob=sealed.blob,
            version=1,
            access_expires_at=credentials.expires_at,
            created_at=now,
            updated_at=now,
            expires_at=now + self._settings.token_ttl + self._settings.record_grace,
            label=label,
        )
        await self._store.put_record(record)
        self.accounts.started(record)
        await self.accounts.enforce_limit(record)
        return self._signer.issue(
            record_id=record_id,
            key=key,
            provider=credentials.provider,
            app_id=self._settings.app_id,
        )

    async def open_session(self, token: str | None) -> Session:
        """Verify `token` and decrypt its record. Raises `Unauthorized` for every failure
        (and `StoreError` when the store cannot be reached)."""
        if not token:
            raise Unauthorized()
        claims = self._signer.verify(token)
        if claims.app_id != self._settings.app_id:
            raise Unauthorized()
        session = await self._load(claims)
        await self.accounts.touch(session.record)
        return session

    async def _load(self, claims: SessionClaims) -> Session:
        record = await self._store.get_record(claims.record_id)
        if record is None or record.provider != claims.provider or record.app_id != claims.app_id:
            raise Unauthorized()
        plaintext = open_sealed(
            claims.key,
            Sealed(record.iv, record.blob),
            record_id=record.id,
            provider=record.provider,
        )
        credentials = Credentials.from_plaintext(plaintext)
        if credentials.provider != claims.provider:
            raise Unauthorized()
        return Session(claims=claims, record=record, credentials=credentials)

    async def usable_session(self, token: str | None) -> Session:
        """`open_session`, then refresh the tokens first if they expire within the margin."""
        session = await self.open_session(token)
        if self._due(session):
            try:
                session = await self.refresh(session)
            except UpstreamError as exc:
                expires = session.credentials.expires_at
                if expires is None or expires <= self._clock.now():
                    raise
                # The access token still works: use it, and try the refresh again next time.
                logger.warning("early refresh failed, using the current token: %s", exc.message)
        return session

    def _due(self, session: Session) -> bool:
        """Whether the access token is within the refresh margin of its expiry. The margin is
        at most half the token's lifetime (from its record write, when it was issued), so a
        token that lives shorter than the margin is not refreshed on every request."""
        expires = session.credentials.expires_at
        if expires is None:
            return False
        margin = float(self._settings.refresh_margin)
        lifetime = expires - session.record.updated_at
        if lifetime > 0:
            margin = min(margin, lifetime / 2)
        return expires - self._clock.now() < margin

    async def refresh(self, session: Session, *, force: bool = False) -> Session:
        """Refresh the session's tokens once, across every task and process.

        `force` refreshes even when the tokens look valid (the provider answered 401), unless
        someone else has refreshed since `session` was read. Raises `Unauthorized` when the
        provider rejects the refresh token (the record is deleted).
        """
        async with self._locks.hold(session.record.id):
            current = await self._load(session.claims)
            if current.record.version != session.record.version:
                return current  # refreshed meanwhile: use the winner's tokens
            if not force and not self._due(current):
                return current
            lease = f"refresh:{current.record.id}"
            winner = await self._take_lease(lease, current)
            if winner is not None:
                return winner
            # Shielded: once the single-use refresh token is spent, the new tokens must be stored
            # even if the caller gives up; bounded well inside the lease so no other process can
            # take the lease while this refresh is still in flight.
            refreshed: Session | None = None
            with anyio.CancelScope(shield=True):
                try:
                    with anyio.fail_after(LEASE_SECONDS - 5):
                        refreshed = await self._refresh_locked(current)
                except TimeoutError:
                    raise UpstreamError("token refresh timed out", status=504) from None
                finally:
                    await self._store.release_lease(lease, self._owner)
            if refreshed is None:  # pragma: no cover - the scopes above either return or raise
                raise UpstreamError("token refresh was interrupted", status=503)
            return refreshed

    async def _take_lease(self, lease: str, current: Session) -> Session | None:
        """Hold the lease (return None), or return the tokens another process refreshed."""
        delay = 0.02
        with anyio.move_on_after(_LEASE_WAIT):
            while True:
                now = self._clock.now()
                if await self._store.acquire_lease(lease, self._owner, now + LEASE_SECONDS, now):
                    latest = await self._load(current.claims)
                    if latest.record.version != current.record.version:
                        await self._store.release_lease(lease, self._owner)
                        return latest
                    return None
                await anyio.sleep(delay)
                delay = min(delay * 2, 0.5)
                latest = await self._load(current.claims)
                if latest.record.version != current.record.version:
                    return latest
        raise StoreError("could not take the refresh lease in time; try again")

    async def _refresh_locked(self, current: Session) -> Session:
        record = current.record
        provider = self._providers.get(record.provider)
        if provider is None:
            raise Unauthorized()
        try:
            fresh = await provider.refresh(current.credentials)
        except Unauthorized:
            self._refreshed(record, ok=False)
            logger.info("refresh rejected by the provider; the record is deleted")
            if await self._store.delete_record(record.id):
                self.accounts.ended(record, "rejected")
            raise
        except Exception:
            self._refreshed(record, ok=False)
            raise
        sealed = seal(
            current.claims.key, fresh.to_plaintext(), record_id=record.id, provider=record.provider
        )
        updated = replace(
            record,
            iv=sealed.iv,
            blob=sealed.blob,
            version=record.version + 1,
            access_expires_at=fresh.expires_at,
            updated_at=self._clock.now(),
        )
        if not await self._store.swap_record(updated, record.version):
            return await self._load(current.claims)  # pragma: no cover - the lease prevents this
        logger.info("tokens refreshed provider=%s", record.provider)
        self._refreshed(record, ok=True)
        return Session(claims=current.claims, record=updated, credentials=fresh)

    def _refreshed(self, record: Record, *, ok: bool) -> None:
        if self._telemetry is not None:
            self._telemetry.refreshed(record.provider, ok)

    async def revoke(self, token: str | None) -> None:
        """Delete this session's record (the user's other sessions stay): its JWT stops working
        everywhere at once. Then ask the provider to revoke its tokens too (`revoke_upstream`)."""
        session = await self.open_session(token)
        await self.end(session, "signed_out")

    async def revoke_all(self, token: str | None) -> int:
        """Sign the bearer's user out everywhere: delete every session of theirs, this one's
        tokens revoked at the provider too (the others' keys are only on their devices)."""
        session = await self.open_session(token)
        count = await self.accounts.end_all(session.user_id)
        await self.revoke_upstream(session)
        return count

    async def end(self, session: Session, reason: EndReason) -> None:
        """End an open session: delete its record, then revoke its tokens upstream."""
        if await self._store.delete_record(session.record.id):
            self.accounts.ended(session.record, reason)
        await self.revoke_upstream(session)

    async def revoke_upstream(self, session: Session) -> None:
        """Best effort, after the local revoke: the provider's token revocation, where it has
        one, bounded by `UPSTREAM_REVOKE_TIMEOUT`; a failure is logged (never a token) and
        ignored, since the record is already gone."""
        provider = self._providers.get(session.record.provider)
        revoke = getattr(provider, "revoke", None)  # providers written before revoke existed
        if revoke is None:
            return
        try:
            with anyio.move_on_after(UPSTREAM_REVOKE_TIMEOUT) as scope:
                await revoke(session.credentials)
        except Exception as exc:  # best effort: nothing may fail a sign-out
            kind = exc.message if isinstance(exc, UpstreamError) else type(exc).__name__
            logger.warning("upstream revoke failed provider=%s: %s", session.record.provider, kind)
            return
        if scope.cancelled_caught:
            logger.warning("upstream revoke timed out provider=%s", session.record.provider)
