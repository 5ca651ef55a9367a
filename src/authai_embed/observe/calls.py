"""One observed request: its span, its metrics, and the events its outcome means.

The app opens a `Call` for each `/v1` call and sign-in step (`CallObserver.begin`) and closes
it once the answer is sent, the whole stream included (`end`). Code below the app adds what it
learns (the model, the upstream's timings, the usage) with the `note_*` functions, which find
the request's call in a context variable and do nothing outside one. Nothing recorded is a
token, a JWT or a prompt.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import Any

from authai_embed.errors import (
    AuthAIError,
    InvalidRequest,
    NotFound,
    RateLimited,
    StoreError,
    Unauthorized,
    UpstreamError,
)
from authai_embed.observe.bus import EventBus
from authai_embed.observe.telemetry import Labels, Telemetry, end_span
from authai_embed.observe.watch import ErrorBursts, LimitWatch

__all__ = [
    "Call",
    "CallObserver",
    "error_kind",
    "note_first_chunk",
    "note_model",
    "note_provider",
    "note_upstream_opened",
    "note_usage",
]

_CURRENT: ContextVar[Call | None] = ContextVar("authai_embed_call", default=None)
_MODEL_CHARS = 100


class Call:
    """What one request's observation gathers on its way."""

    __slots__ = (
        "exc",
        "model",
        "provider",
        "route",
        "span",
        "streaming",
        "token",
        "tokens_in",
        "tokens_out",
        "ttft",
        "upstream_latency",
        "upstream_started",
    )

    def __init__(self, route: str) -> None:
        self.route = route
        self.exc: BaseException | None = None
        self.model: str | None = None
        self.provider: str | None = None
        self.streaming = False
        self.upstream_started: float | None = None
        self.upstream_latency: float | None = None
        self.ttft: float | None = None
        self.tokens_in: int | None = None
        self.tokens_out: int | None = None
        self.span: Any = None
        self.token: Token[Call | None] | None = None


def note_model(model: object) -> None:
    """The model a `/v1` call asks for (cut to 100 characters)."""
    call = _CURRENT.get()
    if call is not None and isinstance(model, str):
        call.model = model[:_MODEL_CHARS]


def note_provider(provider: str) -> None:
    """The provider of a sign-in step."""
    call = _CURRENT.get()
    if call is not None:
        call.provider = provider


def note_upstream_opened(started: float) -> None:
    """The upstream call begun at `started` (`perf_counter`) has answered its headers."""
    call = _CURRENT.get()
    if call is not None:
        call.upstream_started = started
        call.upstream_latency = time.perf_counter() - started


def note_first_chunk() -> None:
    """The upstream answer's first body bytes have arrived."""
    call = _CURRENT.get()
    if call is not None and call.upstream_started is not None and call.ttft is None:
        call.ttft = time.perf_counter() - call.upstream_started


def note_usage(usage: object) -> None:
    """The answer's `usage` (Chat Completions' or Responses' names), when it has one."""
    call = _CURRENT.get()
    if call is None or not isinstance(usage, Mapping):
        return
    given = usage.get("input_tokens", usage.get("prompt_tokens"))
    made = usage.get("output_tokens", usage.get("completion_tokens"))
    call.tokens_in = given if isinstance(given, int) else None
    call.tokens_out = made if isinstance(made, int) else None


def error_kind(exc: BaseException | None, status: int) -> str:
    """A short, fixed name for why a request failed (never an exception's message)."""
    if isinstance(exc, UpstreamError):
        return "upstream_limit" if exc.status == 429 else f"upstream_{exc.status}"
    for kind, name in _KINDS:
        if isinstance(exc, kind):
            return name
    if exc is not None and not isinstance(exc, AuthAIError):
        return "internal"
    return f"http_{status}"


_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (Unauthorized, "unauthorized"),
    (RateLimited, "rate_limited"),
    (InvalidRequest, "invalid_request"),
    (NotFound, "not_found"),
    (StoreError, "store"),
)


class CallObserver:
    """Opens and closes the `Call`s of the mount's requests."""

    __slots__ = ("bursts", "events", "limits", "telemetry")

    def __init__(self, telemetry: Telemetry, events: EventBus) -> None:
        self.telemetry = telemetry
        self.events = events
        self.limits = LimitWatch()
        self.bursts = ErrorBursts()

    def begin(self, method: str, route_path: str) -> Call | None:
        """A `Call` for a `/v1` call or a sign-in step when anyone listens; else `None`."""
        if not (self.telemetry.enabled or self.events.active):
            return None
        if route_path.startswith("/v1"):
            name = route_path
        elif route_path == "/auth/start" or route_path.startswith("/auth/poll/"):
            name = route_path.replace("*", "{id}")
        else:
            return None
        call = Call(name)
        if self.telemetry.enabled:
            call.span = self.telemetry.start_span(f"{method} {name}", {"http.route": name})
        call.token = _CURRENT.set(call)
        return call

    def sending(self, call: Call, streaming: bool) -> None:
        """The answer starts; a stream counts as open until `end`."""
        call.streaming = streaming
        if streaming and self.telemetry.enabled:
            self.telemetry.add("authai.open_streams", (("http.route", call.route),))

    def end(self, call: Call, user_id: str | None, provider: str | None, status: int) -> None:
        """The answer is sent: close the span, record the metrics, emit the events."""
        if call.token is not None:
            _CURRENT.reset(call.token)
        provider = provider or call.provider
        failed = status >= 400
        kind = error_kind(call.exc, status) if failed else None
        if self.telemetry.enabled:
            self._record(call, provider, status, kind)
        if self.events.active and user_id is not None and provider is not None:
            self._emit(call.exc, user_id, provider, status)

    def _record(self, call: Call, provider: str | None, status: int, kind: str | None) -> None:
        telemetry = self.telemetry
        if call.span is not None:  # ended first: the metrics below then sample no exemplars
            final: dict[str, Any] = {"http.response.status_code": status}
            for name, value in (
                ("authai.provider", provider),
                ("gen_ai.request.model", call.model),
                ("authai.upstream.latency_s", call.upstream_latency),
                ("authai.upstream.ttft_s", call.ttft),
                ("gen_ai.usage.input_tokens", call.tokens_in),
                ("gen_ai.usage.output_tokens", call.tokens_out),
                ("error.type", kind),
            ):
                if value is not None:
                    final[name] = value
            end_span(call.span, final, kind if status >= 500 else None)
        labels: Labels = (
            ("http.route", call.route),
            ("http.response.status_code", status),
            ("authai.provider", provider or ""),
        )
        telemetry.add("authai.requests", labels)
        if kind is not None:
            telemetry.add("authai.errors", (*labels, ("error.type", kind)))
        if status == 429:
            by = "provider" if isinstance(call.exc, UpstreamError) else "mount"
            telemetry.add("authai.rate_limited", (*labels, ("authai.limited_by", by)))
        if call.streaming:
            telemetry.add("authai.open_streams", (("http.route", call.route),), -1)
        upstream = (("authai.provider", provider or ""), ("gen_ai.request.model", call.model or ""))
        if call.upstream_latency is not None:
            telemetry.upstream_latency.record(call.upstream_latency, dict(upstream))
        if call.ttft is not None:
            telemetry.ttft.record(call.ttft, dict(upstream))
        if call.tokens_in is not None:
            telemetry.add(
                "authai.tokens", (*upstream, ("gen_ai.token.type", "input")), call.tokens_in
            )
        if call.tokens_out is not None:
            tokens_out = (*upstream, ("gen_ai.token.type", "output"))
            telemetry.add("authai.tokens", tokens_out, call.tokens_out)

    def _emit(self, exc: BaseException | None, user_id: str, provider: str, status: int) -> None:
        events, now = self.events, self.events.now()
        if status < 400:
            reset = self.limits.succeeded(user_id, provider, now)
            if reset is not None:
                events.emit(reset)
        elif isinstance(exc, UpstreamError) and exc.status == 429:
            wait = None if exc.retry_after is None else float(exc.retry_after)
            events.emit(self.limits.reached(user_id, provider, now, exc.code, wait))
        elif isinstance(exc, UpstreamError) and exc.status >= 500:
            burst = self.bursts.failed(provider, now)
            if burst is not None:
                events.emit(burst)
