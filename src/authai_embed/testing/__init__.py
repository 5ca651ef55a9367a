"""The upstream emulator: ASGI apps that imitate the providers' servers, for tests and the demo."""

from __future__ import annotations

from .accounts import Account
from .auth_state import AuthKnobs, AuthStats
from .clock import ManualClock
from .codex_knobs import CodexKnobs, CodexStats
from .codex_script import CodexReply, FunctionCall
from .emulator import Emulator
from .openai_auth import ApprovalError
from .tokens import TOKEN_MARKER

__all__ = [
    "TOKEN_MARKER",
    "Account",
    "ApprovalError",
    "AuthKnobs",
    "AuthStats",
    "CodexKnobs",
    "CodexReply",
    "CodexStats",
    "Emulator",
    "FunctionCall",
    "ManualClock",
]
