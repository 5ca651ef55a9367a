"""User codes, the short codes a person types to approve a device sign-in, for every side:
minting one, comparing what was typed, and refusing a code that can no longer be answered."""

from __future__ import annotations

import secrets
from typing import Protocol, TypeVar

__all__ = ["ApprovalError", "answerable", "new_user_code", "normalize_user_code"]

# Unambiguous characters only (no 0/O, 1/I/L), as people type the code by hand.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class ApprovalError(ValueError):
    """Approving or denying a code failed; the message is what the person is told."""


class _Pending(Protocol):
    @property
    def expires_at(self) -> float: ...

    @property
    def status(self) -> str: ...


P = TypeVar("P", bound=_Pending)


def new_user_code() -> str:
    """A code the person types, like `ABCD-EFGH2` (4 + 5 characters, as the real server's)."""
    chars = [secrets.choice(_ALPHABET) for _ in range(9)]
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


def normalize_user_code(code: str) -> str:
    """The code as compared: upper case, letters and digits only (people type it by hand)."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def answerable(sign_in: P | None, now: float) -> P:
    """The sign-in a typed code found, if the person may still approve or deny it;
    `ApprovalError` (unknown, expired or already answered) otherwise."""
    if sign_in is None:
        raise ApprovalError("That code is not valid. Check the code shown in the app.")
    if now >= sign_in.expires_at:
        raise ApprovalError("That code has expired. Start the sign-in again in the app.")
    if sign_in.status != "pending":
        raise ApprovalError(f"That code was already {sign_in.status}.")
    return sign_in
