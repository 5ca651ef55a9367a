"""The upstream emulator: ASGI apps that imitate the providers' servers, for tests and the demo."""

from __future__ import annotations

from authai_embed.testing.clock import ManualClock
from authai_embed.testing.codex.knobs import CodexKnobs
from authai_embed.testing.emulator import Emulator
from authai_embed.testing.model.records import CodexStats
from authai_embed.testing.model.script import CodexReply, FunctionCall
from authai_embed.testing.openai.accounts import Account
from authai_embed.testing.openai.state import AuthKnobs, AuthStats
from authai_embed.testing.tokens import TOKEN_MARKER
from authai_embed.testing.user_codes import ApprovalError

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
