"""OpenTelemetry, when installed (`pip install 'authai-embed[otel]'`); nothing at all otherwise.

The one module that imports `opentelemetry`. Spans and instruments come from the global tracer
and meter providers (whatever SDK the host configured), or from those given to `use`. Attribute
values are ours only (route, provider, model name, status, error kind): never a token, a JWT, a
user id or any prompt text. docs/operations.md#opentelemetry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from authai_embed._version import __version__

try:
    from opentelemetry import context as _context
    from opentelemetry import metrics as _metrics
    from opentelemetry import trace as _trace
except ImportError:  # pragma: no cover - the dev environment has the package
    _context = None  # type: ignore[assignment]
    _metrics = None  # type: ignore[assignment]
    _trace = None  # type: ignore[assignment]

__all__ = ["Telemetry", "available", "end_span"]

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


class Telemetry:
    """The mount's tracer and instruments; every method is a no-op without OpenTelemetry.

    Counters are kept here, in plain dicts, and reported by observable instruments when the
    SDK collects (a dict increment per request instead of the SDK's per-measurement work);
    histograms are recorded as they happen.
    """

    __slots__ = ("_totals", "enabled", "tracer", "ttft", "upstream_latency")

    def __init__(self) -> None:
        self.enabled = False
        self._totals: dict[str, dict[Labels, int]] = {n: {} for n in (*_COUNTERS, _OPEN_STREAMS)}
        self.use()

    def use(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        """Take spans and instruments from these providers (default: the global ones)."""
        if not available():  # pragma: no cover - see the import
            return
        self.tracer = _trace.get_tracer(_SCOPE, __version__, tracer_provider=tracer_provider)
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

    def _observer(self, name: str) -> Callable[[Any], Iterable[Any]]:
        totals = self._totals[name]

        def observe(options: Any) -> Iterable[Any]:
            # Called from the SDK's collecting thread: copy first (atomic under the GIL).
            return [
                _metrics.Observation(value, dict(labels)) for labels, value in list(totals.items())
            ]

        return observe

    def start_span(self, name: str, attributes: Mapping[str, str]) -> Any:
        """A server span, made current; end it with `end_span`."""
        span = self.tracer.start_span(name, kind=_trace.SpanKind.SERVER, attributes=attributes)
        return span, _context.attach(_trace.set_span_in_context(span))

    def refreshed(self, provider: str, ok: bool) -> None:
        """One provider token refresh, and whether it worked."""
        if self.enabled:
            labels = (("provider", provider),)
            self.add("authai.refreshes", labels)
            if not ok:
                self.add("authai.refresh_failures", labels)


def end_span(handle: Any, attributes: Mapping[str, Any], error: str | None) -> None:
    """Set the final attributes of a span from `Telemetry.start_span`, detach and end it."""
    span, token = handle
    if span.is_recording():
        span.set_attributes(attributes)
        if error is not None:
            span.set_status(_trace.Status(_trace.StatusCode.ERROR, error))
    _context.detach(token)
    span.end()
