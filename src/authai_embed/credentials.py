"""The plaintext inside a sealed record, and its JSON form (the wire contract's field names)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from authai_embed._util.json_text import loads
from authai_embed.errors import Unauthorized

__all__ = ["Credentials"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user's provider tokens. Never logged, never returned to any client.

    `expires_at` is the access token's expiry in Unix seconds (`None` when the provider gives
    none); `refresh` is `None` for providers without refresh tokens.
    """

    provider: str
    access: str
    refresh: str | None
    expires_at: float | None
    account_id: str
    originator: str
    fedramp: bool = False
    """A ChatGPT FedRAMP workspace (its id token said so): its model calls carry
    `X-OpenAI-Fedramp: true`."""

    def __repr__(self) -> str:
        return f"Credentials(provider={self.provider!r}, account_id=<hidden>, tokens=<hidden>)"

    def to_plaintext(self) -> bytes:
        """The JSON sealed into a record: `{provider, access, refresh, expires (ms), accountId,
        originator}`, plus `fedramp: true` for such an account (absent otherwise)."""
        expires = None if self.expires_at is None else int(self.expires_at * 1000)
        fields: dict[str, Any] = {
            "provider": self.provider,
            "access": self.access,
            "refresh": self.refresh,
            "expires": expires,
            "accountId": self.account_id,
            "originator": self.originator,
        }
        if self.fedramp:
            fields["fedramp"] = True
        return json.dumps(fields, separators=(",", ":")).encode()

    @classmethod
    def from_plaintext(cls, data: bytes) -> Credentials:
        """Parse an opened record; a malformed one is treated like a failed decryption."""
        try:
            obj: Any = loads(data.decode())
            expires = obj["expires"]
            refresh = obj.get("refresh")
            creds = cls(
                provider=str(obj["provider"]),
                access=str(obj["access"]),
                refresh=None if refresh is None else str(refresh),
                expires_at=None if expires is None else float(expires) / 1000.0,
                account_id=str(obj["accountId"]),
                originator=str(obj.get("originator") or ""),
                fedramp=obj.get("fedramp") is True,
            )
        except (ValueError, KeyError, TypeError):
            raise Unauthorized() from None
        return creds
