"""OpenTelemetry, when installed (`pip install 'authai-embed[otel]'`); nothing at all otherwise.

The one module that imports `opentelemetry`. Spans and instruments come from the global tracer
and meter providers (whatever SDK the host configured), or from those given to `use`. Attribute
values are ours only (route, provider, model name, status, error kind): never a token, a JWT, a
user id or any prompt text. docs/operations.md#opentelemetry.
"""

from __future__ import annotations

from collections.abc import Mapping
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


class Telemetry:
    """The mount's tracer and instruments; every method is a no-op without OpenTelemetry."""

    __slots__ = (
        "enabled",
        "errors",
        "open_streams",
        "rate_limited",
        "refresh_failures",
        "refreshes",
        "requests",
        "tokens",
        "tracer",
        "ttft",
        "upstream_latency",
    )

    def __init__(self) -> None:
        self.enabled = False
        self.use()

    def use(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        """Take spans and instruments from these providers (default: the global ones)."""
        if not available():  # pragma: no cover - see the import
            return
        tracer = _trace.get_tracer(_SCOPE, __version__, tracer_provider=tracer_provider)
        meter = _metrics.get_meter(_SCOPE, __version__, meter_provider=meter_provider)
        self.tracer = tracer
        self.requests = meter.create_counter(
            "authai.requests", unit="{request}", description="Requests answered, by route"
        )
        self.errors = meter.create_counter(
            "authai.errors", unit="{request}", description="Requests answered with an error"
        )
        self.rate_limited = meter.create_counter(
            "authai.rate_limited", unit="{request}", description="429s, by who limited"
        )
        self.refreshes = meter.create_counter(
            "authai.refreshes", unit="{refresh}", description="Provider token refreshes"
        )
        self.refresh_failures = meter.create_counter(
            "authai.refresh_failures", unit="{refresh}", description="Refreshes that failed"
        )
        self.open_streams = meter.create_up_down_counter(
            "authai.open_streams", unit="{stream}", description="Streamed answers in progress"
        )
        self.upstream_latency = meter.create_histogram(
            "authai.upstream.latency", unit="s", description="Upstream call to its headers"
        )
        self.ttft = meter.create_histogram(
            "authai.upstream.ttft", unit="s", description="Upstream call to its first body byte"
        )
        self.tokens = meter.create_counter(
            "authai.tokens", unit="{token}", description="Model tokens, from the answer's usage"
        )
        self.enabled = True

    def start_span(self, name: str, attributes: Mapping[str, str]) -> Any:
        """A server span, made current; end it with `end_span`."""
        span = self.tracer.start_span(name, kind=_trace.SpanKind.SERVER, attributes=attributes)
        return span, _context.attach(_trace.set_span_in_context(span))

    def refreshed(self, provider: str, ok: bool) -> None:
        """One provider token refresh, and whether it worked."""
        if self.enabled:
            self.refreshes.add(1, {"provider": provider})
            if not ok:
                self.refresh_failures.add(1, {"provider": provider})


def end_span(handle: Any, attributes: Mapping[str, Any], error: str | None) -> None:
    """Set the final attributes of a span from `Telemetry.start_span`, detach and end it."""
    span, token = handle
    span.set_attributes(attributes)
    if error is not None:
        span.set_status(_trace.Status(_trace.StatusCode.ERROR, error))
    _context.detach(token)
    span.end()
