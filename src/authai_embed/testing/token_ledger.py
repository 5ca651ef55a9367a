"""What became of every token the emulator issued: rotation, revocation and expiry.

Tokens come in families: one family per sign-in (one authorization code exchange). Each refresh
rotates the family's refresh token; the old one is kept, marked rotated, so a second use of it is
recognised as reuse rather than as an unknown string.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["AccessEntry", "Family", "RefreshEntry", "RefreshVerdict", "TokenLedger"]

RefreshVerdict = Literal["ok", "unknown", "reused", "invalidated", "expired"]


@dataclass(slots=True)
class Family:
    """The tokens of one sign-in; revoking it ends the sign-in."""

    family_id: str
    account_id: str
    client_id: str
    revoked: bool = False


@dataclass(slots=True)
class RefreshEntry:
    """One refresh token's state."""

    family: Family
    expires_at: float | None
    rotated: bool = False
    revoked: bool = False


@dataclass(slots=True)
class AccessEntry:
    """One access token's state."""

    family: Family
    expires_at: float
    revoked: bool = False


@dataclass(slots=True)
class TokenLedger:
    """Every token issued, in order, with its state. Not thread-safe: the caller holds a lock."""

    _families: list[Family] = field(default_factory=list)
    _refresh: dict[str, RefreshEntry] = field(default_factory=dict)
    _access: dict[str, AccessEntry] = field(default_factory=dict)
    _issued: list[str] = field(default_factory=list)

    def new_family(self, account_id: str, client_id: str) -> Family:
        """Start the token family of a new sign-in."""
        family = Family(f"authsess_{secrets.token_urlsafe(16)}", account_id, client_id)
        self._families.append(family)
        return family

    def record(
        self,
        family: Family,
        *,
        access: str,
        access_expires_at: float,
        id_token: str,
        refresh: str,
        refresh_expires_at: float | None,
    ) -> None:
        """Remember a freshly minted set of tokens."""
        self._access[access] = AccessEntry(family, access_expires_at)
        self._refresh[refresh] = RefreshEntry(family, refresh_expires_at)
        self._issued.extend((access, id_token, refresh))

    def refresh_verdict(self, token: str, now: float) -> tuple[RefreshVerdict, RefreshEntry | None]:
        """Whether `token` may be spent now, and if not why (reuse is checked first)."""
        entry = self._refresh.get(token)
        if entry is None:
            return "unknown", None
        if entry.rotated:
            return "reused", entry
        if entry.revoked or entry.family.revoked:
            return "invalidated", entry
        if entry.expires_at is not None and now >= entry.expires_at:
            return "expired", entry
        return "ok", entry

    def access_family(self, token: str, now: float) -> Family | None:
        """The family of a valid (known, unexpired, unrevoked) access token, else `None`."""
        entry = self._access.get(token)
        if entry is None or entry.revoked or entry.family.revoked or now >= entry.expires_at:
            return None
        return entry.family

    def revoke_token(self, token: str) -> bool:
        """Revoke one token: a refresh token ends its whole family, an access token only itself."""
        refresh = self._refresh.get(token)
        if refresh is not None:
            refresh.family.revoked = True
            return True
        access = self._access.get(token)
        if access is not None:
            access.revoked = True
            return True
        return False

    def revoke_account(self, account_id: str) -> int:
        """End every sign-in of an account; returns how many were still live."""
        count = 0
        for family in self._families:
            if family.account_id == account_id and not family.revoked:
                family.revoked = True
                count += 1
        return count

    def issued(self) -> list[str]:
        """Every access, id and refresh token string ever issued, oldest first."""
        return list(self._issued)
