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
from types import MappingProxyType
from typing import Any, TypeVar

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
from authai_embed.observe.telemetry import Labels, Telemetry, end_span, recording
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

_K = TypeVar("_K")
_V = TypeVar("_V")
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
    """Opens and closes the `Call`s of the mount's requests.

    What every request would otherwise rebuild is made once and kept (within `MAX_CACHED`
    entries a kind): each route's names, each metric's attributes by route, status, provider
    and model.
    """

    __slots__ = ("_labels", "_routes", "_upstream", "bursts", "events", "limits", "telemetry")

    def __init__(self, telemetry: Telemetry, events: EventBus) -> None:
        self.telemetry = telemetry
        self.events = events
        self.limits = LimitWatch()
        self.bursts = ErrorBursts()
        self._routes: dict[tuple[str, str], _Route | None] = {}
        self._labels: dict[tuple[str, int, str], Labels] = {}
        self._upstream: dict[tuple[str, str], _Upstream] = {}

    def begin(self, method: str, route_path: str) -> Call | None:
        """A `Call` for a `/v1` call or a sign-in step when anyone listens; else `None`."""
        telemetry = self.telemetry
        if not (telemetry.enabled or self.events.active):
            return None
        key = (method, route_path)
        route = self._routes.get(key, _UNKNOWN)
        if route is _UNKNOWN:
            route = _route(method, route_path)
            _keep(self._routes, key, route)
        if route is None:
            return None
        call = Call(route.name)
        if telemetry.enabled:
            call.span = telemetry.start_span(route.span_name, route.attributes)
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
        kind = error_kind(call.exc, status) if status >= 400 else None
        if self.telemetry.enabled:
            self._record(call, provider, status, kind)
        if self.events.active and user_id is not None and provider is not None:
            self._emit(call.exc, user_id, provider, status)

    def _record(self, call: Call, provider: str | None, status: int, kind: str | None) -> None:
        telemetry = self.telemetry
        if call.span is not None:  # ended first: the metrics below then sample no exemplars
            final = _span_attributes(call, provider, status, kind) if recording(call.span) else None
            end_span(call.span, final, kind if status >= 500 else None)
        by = provider or ""
        key = (call.route, status, by)
        labels = self._labels.get(key)
        if labels is None:
            labels = (("http.route", call.route), ("http.response.status_code", status))
            labels = (*labels, ("authai.provider", by))
            _keep(self._labels, key, labels)
        requests = telemetry.totals("authai.requests")
        requests[labels] = requests.get(labels, 0) + 1
        if kind is not None:
            telemetry.add("authai.errors", (*labels, ("error.type", kind)))
        if status == 429:
            limited_by = "provider" if isinstance(call.exc, UpstreamError) else "mount"
            telemetry.add("authai.rate_limited", (*labels, ("authai.limited_by", limited_by)))
        if call.streaming:
            telemetry.add("authai.open_streams", (("http.route", call.route),), -1)
        if (
            call.upstream_latency is None
            and call.ttft is None
            and call.tokens_in is None
            and call.tokens_out is None
        ):
            return
        model = call.model or ""
        upstream = self._upstream.get((by, model))
        if upstream is None:
            upstream = _Upstream(by, model)
            _keep(self._upstream, (by, model), upstream)
        if call.upstream_latency is not None:
            telemetry.record(telemetry.upstream_latency, call.upstream_latency, upstream.attributes)
        if call.ttft is not None:
            telemetry.record(telemetry.ttft, call.ttft, upstream.attributes)
        if call.tokens_in is not None or call.tokens_out is not None:
            tokens = telemetry.totals("authai.tokens")
            if call.tokens_in is not None:
                tokens[upstream.input] = tokens.get(upstream.input, 0) + call.tokens_in
            if call.tokens_out is not None:
                tokens[upstream.output] = tokens.get(upstream.output, 0) + call.tokens_out

    def _emit(self, exc: BaseException | None, user_id: str, provider: str, status: int) -> None:
        if status < 400 and not self.limits:
            return  # nobody to tell of a reset: skip the clock
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


MAX_CACHED = 1024
"""Entries each of `CallObserver`'s caches keeps at most (emptied when full: models are the
callers' strings, so their number is not ours to bound)."""


class _Route:
    """The names of an observed route: for its calls, its span, and the span's attributes."""

    __slots__ = ("attributes", "name", "span_name")

    def __init__(self, method: str, name: str) -> None:
        self.name = name
        self.span_name = f"{method} {name}"
        self.attributes: Mapping[str, str] = MappingProxyType({"http.route": name})


_UNKNOWN = _Route("", "")
"""`CallObserver._routes` has no entry yet (`None` there means: not observed)."""


def _route(method: str, route_path: str) -> _Route | None:
    """The names of the route at `route_path`: `/v1` calls and sign-in steps; others `None`."""
    if route_path.startswith("/v1"):
        return _Route(method, route_path)
    if route_path == "/auth/start" or route_path.startswith("/auth/poll/"):
        return _Route(method, route_path.replace("*", "{id}"))
    return None


class _Upstream:
    """The attributes of the upstream metrics of one provider and model."""

    __slots__ = ("attributes", "input", "output")

    def __init__(self, provider: str, model: str) -> None:
        pairs = (("authai.provider", provider), ("gen_ai.request.model", model))
        self.attributes: Mapping[str, str] = MappingProxyType(dict(pairs))
        self.input: Labels = (*pairs, ("gen_ai.token.type", "input"))
        self.output: Labels = (*pairs, ("gen_ai.token.type", "output"))


def _keep(cache: dict[_K, _V], key: _K, value: _V) -> None:
    """Remember `value` for `key` in `cache`, emptying it first when full."""
    if len(cache) >= MAX_CACHED:
        cache.clear()
    cache[key] = value


def _span_attributes(
    call: Call, provider: str | None, status: int, kind: str | None
) -> dict[str, Any]:
    """The final attributes of `call`'s span: what is known of it, nothing secret."""
    final: dict[str, Any] = {"http.response.status_code": status}
    if provider is not None:
        final["authai.provider"] = provider
    if call.model is not None:
        final["gen_ai.request.model"] = call.model
    if call.upstream_latency is not None:
        final["authai.upstream.latency_s"] = call.upstream_latency
    if call.ttft is not None:
        final["authai.upstream.ttft_s"] = call.ttft
    if call.tokens_in is not None:
        final["gen_ai.usage.input_tokens"] = call.tokens_in
    if call.tokens_out is not None:
        final["gen_ai.usage.output_tokens"] = call.tokens_out
    if kind is not None:
        final["error.type"] = kind
    return final
