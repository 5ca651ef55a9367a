"""Token confinement, enforced in every test: a pytest plugin (enabled in `conftest.py`).

The emulator puts `TOKEN_MARKER` inside every token it issues. This plugin fails any test in
which the marker leaves OUR code: in a response an `AuthAI` app sends (status line headers and
every body chunk, whatever client or server drives it), in a log record (a handler on the root
logger, with the package loggers at DEBUG so every record is really made and formatted), or in
the message of an exception (every `AuthAIError` built, and anything escaping an `AuthAI` entry
point to its caller).

What it deliberately does not watch: the emulator's own answers to our provider code (they are
supposed to carry tokens; tests such as the emulator's may read them), and the emulator's own
loggers. It watches the boundary where data leaves the library, so it wraps `AuthAI._serve`
(the single ASGI entry behind `__call__` and the in-process clients) and not the shared
`asgi.http` response classes, which the emulator uses too.

A violation is collected where it happens and reported when the phase (setup, call, teardown)
ends, so a leak swallowed by an `except` or a `pytest.raises` still fails the test. Collectors
form a stack so a `pytester` run inside a test reports to its own session.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Generator, Iterable
from typing import Any

import pytest

from authai_embed.asgi.app import AuthAI
from authai_embed.errors import AuthAIError
from authai_embed.testing import TOKEN_MARKER
from authai_embed.types import Message, Send

MARKER = TOKEN_MARKER
_MARKER_BYTES = MARKER.encode()
_EXEMPT_LOGGERS = ("authai_embed.testing",)
_stack: list[list[str]] = []


def report(where: str) -> None:
    """Record a violation against the innermost running test phase (or nowhere, outside one)."""
    if _stack:
        _stack[-1].append(where)


def _check_text(text: str, where: str) -> None:
    if MARKER in text:
        report(where)


def _check_headers(headers: Iterable[tuple[bytes, bytes]], where: str) -> None:
    for name, value in headers:
        if _MARKER_BYTES in bytes(name) or _MARKER_BYTES in bytes(value):
            report(f"{where}: header {bytes(name).decode('latin-1')}")


def _check_exception(exc: BaseException, where: str) -> None:
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if MARKER in repr(current.args) or MARKER in str(current):
            report(f"{where}: {type(current).__name__}")
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


class _GuardedSend:
    """Wraps an ASGI `send`, scanning every message the app sends (marker split across chunks
    included: the tail of the previous chunk is kept)."""

    def __init__(self, send: Send, path: str) -> None:
        self._send = send
        self._path = path
        self._tail = b""

    async def __call__(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "http.response.start":
            _check_headers(message.get("headers", ()), f"response headers of {self._path}")
        elif kind == "http.response.body":
            data = self._tail + bytes(message.get("body", b""))
            if _MARKER_BYTES in data:
                report(f"response body of {self._path}")
            self._tail = data[-(len(_MARKER_BYTES) - 1) :]
        await self._send(message)


class _LeakHandler(logging.Handler):
    """Root-logger handler: every record's final message and exception text."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(_EXEMPT_LOGGERS):
            return
        try:
            text = record.getMessage()
        except Exception:  # a record that cannot format is not ours to judge
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + repr(record.exc_info[1])
        text += " " + (record.exc_text or "")
        _check_text(text, f"log record of {record.name}")


_installed = False
_handler = _LeakHandler(level=logging.DEBUG)


def install() -> None:
    """Patch once per process: `AuthAI` entry points, `AuthAIError` construction."""
    global _installed
    if _installed:
        return
    _installed = True
    original_serve = AuthAI._serve

    @functools.wraps(original_serve)
    async def serve(self: AuthAI, scope: Any, receive: Any, send: Any, path: str) -> None:
        try:
            await original_serve(self, scope, receive, _GuardedSend(send, path[:100]), path)
        except BaseException as exc:
            _check_exception(exc, f"exception escaping the app on {path[:100]}")
            raise

    AuthAI._serve = serve  # type: ignore[method-assign]
    for name in ("whoami", "revoke", "sweep", "startup", "shutdown"):
        _wrap_coroutine_method(name)

    original_init = AuthAIError.__init__

    def init(self: AuthAIError, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        _check_text(repr(args), f"{type(self).__name__} message")

    AuthAIError.__init__ = init  # type: ignore[method-assign, assignment]


def _wrap_coroutine_method(name: str) -> None:
    original = getattr(AuthAI, name)

    @functools.wraps(original)
    async def method(self: AuthAI, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, *args, **kwargs)
        except BaseException as exc:
            _check_exception(exc, f"exception raised by AuthAI.{name}")
            raise

    setattr(AuthAI, name, method)


def pytest_configure(config: pytest.Config) -> None:
    install()


def _phase(item: pytest.Item, phase: str) -> Generator[None, None, None]:
    package = logging.getLogger("authai_embed")
    root = logging.getLogger()
    level = package.level
    package.setLevel(logging.DEBUG)
    root.addHandler(_handler)
    found: list[str] = []
    _stack.append(found)
    try:
        try:
            yield
        except BaseException as exc:
            _check_exception(exc, "exception of the test")
            raise
    finally:
        _stack.remove(found)
        root.removeHandler(_handler)
        package.setLevel(level)
        if found:
            listed = "\n  ".join(dict.fromkeys(found))
            pytest.fail(
                f"token marker {MARKER!r} left the library during {phase} of {item.nodeid}:"
                f"\n  {listed}",
                pytrace=False,
            )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _phase(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _phase(item, "call"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _phase(item, "teardown"))
