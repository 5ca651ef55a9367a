"""The redacting filter: nothing token-shaped survives into a log record."""

from __future__ import annotations

import logging

import pytest

from authai_embed._util.logs import get_logger, redact
from authai_embed.testing import TOKEN_MARKER

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJyaWQiOiJhYmMifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize(
    "secret_text",
    [
        f"Authorization: Bearer {JWT}",
        f"authorization={JWT}",
        "Cookie: authai-jwt=abc; other=1",
        f"token {JWT} in text",
        f"rt_{TOKEN_MARKER}abcdefghijklmnopqrstuvwxyz",
        "session " + "A" * 43,
    ],
)
def test_token_shapes_are_redacted(secret_text: str) -> None:
    cleaned = redact(secret_text)
    assert "[redacted]" in cleaned
    assert JWT not in cleaned
    assert TOKEN_MARKER not in cleaned
    assert "A" * 43 not in cleaned
    assert "authai-jwt=abc" not in cleaned


def test_plain_messages_are_untouched() -> None:
    text = "POST /auth/start 200 3.1ms provider=openai"
    assert redact(text) == text


def test_package_loggers_redact_args_and_drop_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    log = get_logger("test")
    log.info("calling with %s", f"Bearer {JWT}")
    try:
        raise ValueError(f"boom {JWT}")
    except ValueError:
        log.exception("failed")
    text = "\n".join(r.getMessage() + str(r.exc_info) + str(r.exc_text) for r in caplog.records)
    assert JWT not in text
    assert "ValueError" in text
    assert caplog.text.count("[redacted]") >= 1
    assert JWT not in caplog.text
