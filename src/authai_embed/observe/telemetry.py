"""OpenTelemetry, when installed (`pip install 'authai-embed[otel]'`); nothing at all otherwise.

The one module that imports `opentelemetry`. Spans and instruments come from the global tracer
and meter providers (whatever SDK the host configured), or from those given to `use`. Attribute
values are ours only (route, provider, model name, status, error kind): never a token, a JWT, a
user id or any prompt text. docs/operations.md#opentelemetry.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from authai_embed._version import __version__

try:
    from opentelemetry import context as _context
    from opentelemetry import metrics as _metrics
    from opentelemetry import trace as _trace
except ImportError:  # pragma: no cover - the dev environment has the package
    _context = None  # type: ignore[assignment]
    _metrics = None  # type: ignore[assignment]
    _trace = None  # type: ignore[assignment]

__all__ = ["BATCH", "Telemetry", "available", "end_span", "recording"]

_SCOPE = "authai_embed"


def available() -> bool:
    """Whether `opentelemetry-api` is installed."""
    return _trace is not None


Labels = tuple[tuple[str, str | int], ...]
"""A metric's attributes as a hashable tuple of pairs."""

_COUNTERS = {
    "authai.requests": ("{request}", "Requests answered: /v1 calls and sign-in steps"),
    "authai.errors": ("{request}", "Requests answered with an error, by kind"),
    "authai.rate_limited": ("{request}", "429s, by who limited"),
    "authai.refreshes": ("{refresh}", "Provider token refreshes"),
    "authai.refresh_failures": ("{refresh}", "Provider token refreshes that failed"),
    "authai.tokens": ("{token}", "Model tokens, from the answer's usage"),
}
_OPEN_STREAMS = "authai.open_streams"
BATCH: Final = 256
"""Histogram values waiting for the SDK at most (see `Telemetry`): then handed over at once."""


class Telemetry:
    """The mount's tracer and instruments; every method is a no-op without OpenTelemetry.

    Counters are kept here, in plain dicts, and reported by observable instruments when the
    SDK collects (a dict increment per request instead of the SDK's per-measurement work).
    Histogram values wait in a queue and are handed to the SDK in one go: when it collects
    (before it reads the histograms), or once `BATCH` of them wait, whichever comes first.
    """

    __slots__ = (
        "_no_sdk_yet",
        "_pending",
        "_totals",
        "enabled",
        "tracer",
        "ttft",
        "upstream_latency",
    )

    def __init__(self) -> None:
        self.enabled = False
        self._no_sdk_yet = True
        self._totals: dict[str, dict[Labels, int]] = {n: {} for n in (*_COUNTERS, _OPEN_STREAMS)}
        # (histogram, value, attributes): a deque, as the SDK's collecting thread takes from it
        # while requests add to it (`append` and `popleft` are atomic).
        self._pending: deque[tuple[Any, float, Mapping[str, str]]] = deque()
        self.use()

    def use(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        """Take spans and instruments from these providers (default: the global ones)."""
        if not available():  # pragma: no cover - see the import
            return
        self.tracer = _trace.get_tracer(_SCOPE, __version__, tracer_provider=tracer_provider)
        self._no_sdk_yet = tracer_provider is None  # checked per span until one is set
        meter = _metrics.get_meter(_SCOPE, __version__, meter_provider=meter_provider)
        for name, (unit, description) in _COUNTERS.items():
            meter.create_observable_counter(
                name, [self._observer(name)], unit=unit, description=description
            )
        meter.create_observable_up_down_counter(
            _OPEN_STREAMS,
            [self._observer(_OPEN_STREAMS)],
            unit="{stream}",
            description="Streamed answers being sent",
        )
        self.upstream_latency = meter.create_histogram(
            "authai.upstream.latency", unit="s", description="Upstream call to its headers"
        )
        self.ttft = meter.create_histogram(
            "authai.upstream.ttft", unit="s", description="Upstream call to its first body byte"
        )
        self.enabled = True

    def add(self, name: str, labels: Labels, value: int = 1) -> None:
        """Add `value` to counter `name` (or the open streams) for `labels`."""
        totals = self._totals[name]
        totals[labels] = totals.get(labels, 0) + value

    def totals(self, name: str) -> dict[Labels, int]:
        """The running totals of counter `name` by labels, to add to in place (the hot path's
        `add`, without the lookup by name)."""
        return self._totals[name]

    def record(self, histogram: Any, value: float, attributes: Mapping[str, str]) -> None:
        """Record `value` in `histogram` (`upstream_latency`, `ttft`), in the next batch."""
        pending = self._pending
        pending.append((histogram, value, attributes))
        if len(pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Hand the histogram values waiting to the SDK (it collects: it calls this first).

        Recorded in an empty context, wherever this runs: no exemplar ties a value to whatever
        span happens to be current then."""
        pending = self._pending
        if not pending:
            return
        token = _context.attach(_context.Context())
        try:
            while pending:
                try:
                    histogram, value, attributes = pending.popleft()
                except IndexError:  # taken meanwhile by the other thread
                    return
                histogram.record(value, attributes)
        finally:
            _context.detach(token)

    def _observer(self, name: str) -> Callable[[Any], Iterable[Any]]:
        totals = self._totals[name]

        def observe(options: Any) -> Iterable[Any]:
            # The SDK calls every observable instrument's callback before it reads the
            # synchronous ones: the histograms then include what waited.
            self.flush()
            # Called from the SDK's collecting thread: copy first (atomic under the GIL).
            return [
                _metrics.Observation(value, dict(labels)) for labels, value in list(totals.items())
            ]

        return observe

    def start_span(self, name: str, attributes: Mapping[str, str]) -> Any:
        """A server span, made current; end it with `end_span`. `None` while the tracer is the
        global one and no SDK is configured (its spans would record nothing)."""
        if self._no_sdk_yet:
            if isinstance(_trace.get_tracer_provider(), _trace.ProxyTracerProvider):
                return None
            self._no_sdk_yet = False  # the API sets the global provider once and for all
        parent = _context.get_current()  # looked up once, for the parent and the new context
        span = self.tracer.start_span(
            name, context=parent, kind=_trace.SpanKind.SERVER, attributes=attributes
        )
        return span, _context.attach(_trace.set_span_in_context(span, parent))

    def refreshed(self, provider: str, ok: bool) -> None:
        """One provider token refresh, and whether it worked."""
        if self.enabled:
            labels = (("provider", provider),)
            self.add("authai.refreshes", labels)
            if not ok:
                self.add("authai.refresh_failures", labels)


def recording(handle: Any) -> bool:
    """Whether the span of `handle` (from `Telemetry.start_span`) records (else attributes set on
    it are dropped, and need not be made)."""
    return bool(handle[0].is_recording())


def end_span(handle: Any, attributes: Mapping[str, Any] | None, error: str | None) -> None:
    """Set the final attributes of a span from `Telemetry.start_span`, detach and end it."""
    span, token = handle
    if attributes and span.is_recording():
        span.set_attributes(attributes)
        if error is not None:
            span.set_status(_trace.Status(_trace.StatusCode.ERROR, error))
    _context.detach(token)
    span.end()
