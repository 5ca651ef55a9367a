"""From a session JWT to usable credentials, and from fresh credentials to a new session.

`open_session` verifies the JWT, loads the record and decrypts it; any failure is the same
`Unauthorized`. `create_session` seals new credentials under a fresh key into a new record (which
replaces the account's previous one) and issues the JWT that carries the key.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .clock import Clock
from .credentials import Credentials
from .errors import Unauthorized
from .identity import user_id
from .sessions import SessionClaims, SessionSigner
from .settings import Secrets, Settings
from .stores.base import AuthStore, Record
from .vault import Sealed, new_key, open_sealed, seal

__all__ = ["Lifecycle", "Session"]


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


class Lifecycle:
    """Owns the path between JWTs, stored records and decrypted credentials."""

    __slots__ = ("_clock", "_secrets", "_settings", "_signer", "_store")

    def __init__(
        self,
        *,
        store: AuthStore,
        signer: SessionSigner,
        secrets: Secrets,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._store = store
        self._signer = signer
        self._secrets = secrets
        self._settings = settings
        self._clock = clock

    async def create_session(self, credentials: Credentials) -> tuple[str, int]:
        """Store `credentials` in a new record sealed under a fresh key; return (JWT, exp)."""
        now = self._clock.now()
        key = new_key()
        record_id = secrets.token_urlsafe(16)
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
        )
        await self._store.put_record(record)
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

    async def revoke(self, token: str | None) -> None:
        """Delete the session's record: every JWT for it stops working everywhere at once."""
        session = await self.open_session(token)
        await self._store.delete_record(session.record.id)
