"""Loggers that cannot leak secrets: every authai_embed logger carries a redacting filter.

Messages are formatted and scrubbed before any handler sees them: `Authorization` values,
cookies, JWTs, the emulator's and providers' token shapes, and any long opaque token-like string
are replaced by `[redacted]`. Our code never logs a token on purpose; this is the safety net.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "get_logger", "redact"]

_PATTERNS = (
    re.compile(r"(?i)\b(authorization|cookie|set-cookie)\b(\s*[:=]\s*)[^\n,;]+"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),  # JWTs
    re.compile(r"\b(?:rt|sk|gho|ghu|xai)[-_][A-Za-z0-9_-]{16,}"),  # refresh and API tokens
    re.compile(r"\b[A-Za-z0-9_-]{40,}\b"),  # long opaque tokens (session ids included)
)
_MASK = "[redacted]"


def redact(text: str) -> str:
    """`text` with every token-shaped part replaced by `[redacted]`."""
    for pattern in _PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{_MASK}", text)
        else:
            text = pattern.sub(_MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """Formats the record's message once and scrubs it (and any exception text) in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info is not None:
            # A traceback could carry request data: keep only the exception's type.
            kind = record.exc_info[0].__name__ if record.exc_info[0] else "Exception"
            record.msg, record.args = f"{record.getMessage()} ({kind})", None
            record.exc_info, record.exc_text = None, None
        return True


_FILTER = RedactingFilter()


def get_logger(name: str) -> logging.Logger:
    """`logging.getLogger("authai_embed.<name>")` with the redacting filter attached."""
    logger = logging.getLogger(f"authai_embed.{name}")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
