"""What the emulated model answers next: scripted replies, or a deterministic echo by default.

A test queues replies with `emulator.codex.script(...)` (or `emulator.github.model.script`,
`emulator.xai.model.script`); each model call takes the oldest one.
With nothing queued the model says `Echo: <the last user text>`.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["FINISHES", "CodexReply", "Finish", "FunctionCall", "IncompleteReason"]

Finish = Literal["completed", "incomplete", "failed", "error", "cut"]
IncompleteReason = Literal["max_output_tokens", "content_filter"]
FINISHES: tuple[Finish, ...] = ("completed", "incomplete", "failed", "error", "cut")


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A tool call the model makes: the tool's name and its JSON arguments.

    `arguments` may be given as a mapping; it is sent as compact JSON text, as the model writes it.
    `call_id` is generated (`call_...`) when not given.
    """

    name: str
    arguments: str | Mapping[str, Any] = "{}"
    call_id: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError("a function call needs a non-empty name")
        if not isinstance(self.arguments, str):
            text = json.dumps(dict(self.arguments), separators=(",", ":"), ensure_ascii=False)
            object.__setattr__(self, "arguments", text)

    @property
    def arguments_text(self) -> str:
        """The arguments as the JSON text streamed to the client."""
        assert isinstance(self.arguments, str)  # made text by __post_init__
        return self.arguments


@dataclass(frozen=True, slots=True)
class CodexReply:
    """One scripted answer of the model backend.

    With `status` other than 200 the call is answered with that HTTP error before any stream
    (`body` defaults to the real backend's shape for the status: 429 is the usage-limit body).
    Otherwise a stream is sent: a reasoning item (when `reasoning` is set or the request asks for
    a summary), a message with `text` (`None`: the default echo, unless there are function calls;
    `""`: no message), one item per `function_calls` entry, then the end chosen by `finish`:

    - `completed`: `response.completed` with usage;
    - `incomplete`: `response.incomplete`, `incomplete_details.reason` = `incomplete_reason`;
    - `failed`: `response.failed` with `error: {code, message}` (`error_code`, `error_message`);
    - `error`: a bare `error` event (`code`, `message`), then the stream ends;
    - `cut`: the body ends without a terminal event, after `cut_after` events (by default just
      after the first text or arguments delta).

    `malformed` adds one frame whose `data:` is not JSON, right after the first delta.
    `usage` replaces the computed usage object.
    """

    text: str | None = None
    reasoning: str | None = None
    function_calls: Sequence[FunctionCall] = ()
    finish: Finish = "completed"
    incomplete_reason: IncompleteReason = "max_output_tokens"
    error_code: str = "server_error"
    error_message: str = "An error occurred while processing your request."
    cut_after: int | None = None
    malformed: bool = False
    usage: Mapping[str, Any] | None = None
    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.finish not in FINISHES:
            raise ValueError(f"finish must be one of {', '.join(FINISHES)}, not {self.finish!r}")
        if self.incomplete_reason not in ("max_output_tokens", "content_filter"):
            raise ValueError("incomplete_reason must be 'max_output_tokens' or 'content_filter'")
        if self.status != 200 and not 400 <= self.status <= 599:
            raise ValueError("status must be 200 (a stream) or an HTTP error status (400-599)")
        if self.cut_after is not None and self.cut_after < 0:
            raise ValueError("cut_after counts events and cannot be negative")
        object.__setattr__(self, "function_calls", tuple(self.function_calls))

    @classmethod
    def http_error(
        cls, status: int, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> CodexReply:
        """An HTTP error before any stream (`body`: the real backend's default for `status`)."""
        return cls(status=status, body=body, headers=dict(headers or {}))

    @property
    def is_http_error(self) -> bool:
        """Whether this reply is an HTTP error rather than a stream."""
        return self.status != 200

    def text_for(self, messages: Sequence[Any]) -> str:
        """The message to send: the scripted `text`, else none beside function calls, else the
        echo of `messages`."""
        if self.text is not None:
            return self.text
        return "" if self.function_calls else echo_text(messages)


def echo_text(messages: Sequence[Any]) -> str:
    """The default answer: `Echo: ` and the last user text of Responses input items or chat
    messages (a string content, or its last `input_text` or `text` part)."""
    for item in reversed(messages):
        if not isinstance(item, Mapping) or item.get("role") != "user":
            continue
        content = item.get("content")
        if isinstance(content, str):
            return f"Echo: {content}"
        texts = [
            part["text"]
            for part in content or ()
            if isinstance(part, Mapping) and part.get("type") in ("input_text", "text")
        ]
        if texts:
            return f"Echo: {texts[-1]}"
    return "Echo: (no user text)"


class ReplyScript:
    """The queue of scripted answers of one emulated model API, safe to fill from a test's
    thread while the server's thread takes from it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[CodexReply] = deque()

    def add(self, *replies: CodexReply | str, **fields: Any) -> None:
        """Queue `CodexReply`s, strings (a plain text answer) or one reply's fields as keywords."""
        queued = [CodexReply(text=r) if isinstance(r, str) else r for r in replies]
        if fields:
            queued.append(CodexReply(**fields))
        if not queued:
            raise ValueError("script() needs at least one reply")
        with self._lock:
            self._queue.extend(queued)

    def next(self) -> CodexReply:
        """The oldest queued reply, or the default (echo the last user text)."""
        with self._lock:
            return self._queue.popleft() if self._queue else CodexReply()

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)

    def clear(self) -> None:
        """Drop the replies not yet used."""
        with self._lock:
            self._queue.clear()
