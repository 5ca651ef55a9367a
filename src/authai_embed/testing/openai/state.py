"""The emulated auth server's settings, counters and shared state (accounts, codes, tokens).

The device flow (`openai/device_flow.py`) and the token endpoint (`openai/oauth_token.py`) both
work on one `AuthState`; it belongs to one `Emulator`, so two emulators never share anything.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

import authai_embed.testing.tokens as tokens
from authai_embed._util.clock import Clock
from authai_embed.testing.openai.accounts import DEFAULT_ACCOUNT_ID, Account, new_account
from authai_embed.testing.token_ledger import TokenLedger

__all__ = [
    "CODEX_CLIENT_ID",
    "AuthKnobs",
    "AuthState",
    "AuthStats",
    "AuthorizationCode",
    "DeviceAuthorization",
]

CODEX_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"


@dataclass(slots=True)
class AuthKnobs:
    """Live settings of the emulated auth server; a test may change them at any time."""

    issuer: str = "http://auth.emulator.test"
    client_id: str = CODEX_CLIENT_ID
    interval: str | int = "5"
    """Sent as is in the user code answer: the real server sends a string."""
    device_code_ttl: float = 15 * 60
    enforce_interval: bool = False
    """Answer 429 `slow_down` to a poll sooner than `interval` after the previous one."""
    device_login_available: bool = True
    """Off: the user code endpoint answers 404, as a server without device-code sign-in."""
    authorization_code_ttl: float = 10 * 60
    access_ttl: int = 3600
    expires_in: Literal["seconds", "absent", "zero"] = "seconds"
    """How token answers state the access lifetime: `expires_in` in seconds, no field, or `0`
    (the token's own `exp` claim still says when it expires)."""
    refresh_ttl: float | None = None
    """Lifetime of refresh tokens in seconds; `None`: they never expire."""
    revoke_family_on_reuse: bool = False
    """On refresh token reuse, also revoke the sign-in's newer tokens (reuse detection)."""
    refresh_rejection: Literal["codes", "invalid_grant"] = "codes"
    """`codes`: 401 with `refresh_token_*` codes; `invalid_grant`: RFC 6749's plain 400."""
    revoke_failure: Literal["error", "hang"] | None = None
    """`error`: `/oauth/revoke` answers 503; `hang`: it never answers (a stuck upstream)."""
    max_body: int = 64 * 1024

    @property
    def redirect_uri(self) -> str:
        """The only redirect_uri the code exchange accepts."""
        return f"{self.issuer.rstrip('/')}/deviceauth/callback"

    def interval_seconds(self) -> float:
        """`interval` as seconds (5 when it does not parse)."""
        try:
            return float(str(self.interval).strip())
        except ValueError:
            return 5.0


@dataclass(slots=True)
class AuthStats:
    """Counters for tests: what clients asked and what they got."""

    device_codes: int = 0
    device_polls: int = 0
    slow_downs: int = 0
    approvals: int = 0
    denials: int = 0
    exchanges: int = 0
    rejected_exchanges: int = 0
    refreshes: int = 0
    rejected_refreshes: int = 0
    refresh_reuses: int = 0
    revocations: int = 0
    refresh_failures: list[str] = field(default_factory=list)
    """The error code of every rejected refresh, in order."""


@dataclass(slots=True)
class AuthorizationCode:
    """The grant handed to the device on approval, spent by the code exchange."""

    code: str
    verifier: str
    challenge: str
    account_id: str
    client_id: str
    expires_at: float
    used: bool = False


@dataclass(slots=True)
class DeviceAuthorization:
    """One device-code sign-in, from the user code request to the exchange."""

    device_auth_id: str
    user_code: str
    client_id: str
    originator: str | None
    """The `originator` header the app sent with its user code request."""
    expires_at: float
    status: Literal["pending", "approved", "denied", "disabled"] = "pending"
    """`disabled`: an account without device-code sign-in tried to approve it (final)."""
    grant: AuthorizationCode | None = None
    last_poll: float | None = None
    refusal: str | None = None
    """Why the sign-in page refused the approval (`disabled`)."""


class AuthState:
    """Everything the emulated auth server knows. Hold `lock` while reading or changing it.

    The lock is a `threading.RLock` and is never held across an `await`, so tests may approve
    codes from another thread while a server thread answers polls.
    """

    def __init__(self, clock: Clock, knobs: AuthKnobs) -> None:
        self.clock = clock
        self.knobs = knobs
        self.stats = AuthStats()
        self.lock = threading.RLock()
        self.kid = tokens.new_kid()
        self.ledger = TokenLedger()
        self.devices: dict[str, DeviceAuthorization] = {}
        self.by_user_code: dict[str, DeviceAuthorization] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self._accounts: dict[str, Account] = {}
        self.add(new_account(DEFAULT_ACCOUNT_ID, email="user@emulator.test"))

    def add(self, account: Account) -> Account:
        """Add an account; `ValueError` if its id is taken."""
        with self.lock:
            if account.account_id in self._accounts:
                raise ValueError(f"account {account.account_id!r} already exists")
            self._accounts[account.account_id] = account
        return account

    def account(self, account_id: str | None = None) -> Account:
        """The named account, or the default one; `KeyError` if there is none by that id."""
        with self.lock:
            try:
                return self._accounts[account_id or DEFAULT_ACCOUNT_ID]
            except KeyError:
                raise KeyError(f"unknown account {account_id!r}; add it with add_account") from None

    def accounts(self) -> list[Account]:
        """Every account, the default first."""
        with self.lock:
            return list(self._accounts.values())
