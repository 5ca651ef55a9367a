"""The emulator's ChatGPT accounts: who signs in, and what their tokens say about them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

__all__ = ["DEFAULT_ACCOUNT_ID", "Account", "new_account"]

DEFAULT_ACCOUNT_ID = "acct-emulator-default"


@dataclass(slots=True)
class Account:
    """A ChatGPT user and workspace as the auth server knows them.

    Mutable on purpose: a test may flip `device_login_enabled` or `plan` mid-flow; tokens
    minted afterwards carry the new values, tokens already issued keep the old ones.
    """

    account_id: str
    email: str
    user_id: str
    plan: str = "plus"
    device_login_enabled: bool = True
    fedramp: bool = False
    """A FedRAMP workspace: its tokens say `chatgpt_account_is_fedramp: true`, and the Codex
    backend refuses its calls without `X-OpenAI-Fedramp: true`."""


def new_account(
    account_id: str,
    *,
    email: str | None = None,
    plan: str = "plus",
    device_login_enabled: bool = True,
    user_id: str | None = None,
    fedramp: bool = False,
) -> Account:
    """An `Account` with a random ChatGPT user id unless one is given."""
    if not account_id or not isinstance(account_id, str):
        raise ValueError("account_id must be a non-empty string")
    if not plan or not isinstance(plan, str):
        raise ValueError("plan must be a non-empty string such as 'plus', 'pro' or 'team'")
    return Account(
        account_id=account_id,
        email=email or f"{account_id}@emulator.test",
        user_id=user_id or f"user-{secrets.token_hex(12)}",
        plan=plan,
        device_login_enabled=device_login_enabled,
        fedramp=fedramp,
    )
