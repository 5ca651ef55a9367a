"""Measurement 7: what events and OpenTelemetry add to the served path, in-process.

Two mounts side by side, each on its own emulator, the same request to both in alternating
pairs: "ours" has an `on_event` handler and the OpenTelemetry SDK configured (a span processor
that batches to an exporter that drops, and a metric reader), "direct" has neither (as without
the `otel` extra). The difference is their cost on a non-streamed chat completion.

What a sample counts: this thread's CPU time, so the span exporter's own thread is left out (as
in production, where it runs beside the event loop). Nothing collects the metric reader during
the run, so each histogram batch (`authai_embed.observe.telemetry.BATCH` values) is handed to
the SDK in the request that fills it: that request's sample carries the batch, in the mean and
the tail rather than the p50.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

from authai_embed import Event

from .inprocess import CHAT, Paired, _paired
from .rig import InProcessRig, chat_body, open_rig

__all__ = ["measure_observe_cost", "sdk_installed"]


def sdk_installed() -> bool:
    """Whether `opentelemetry-sdk` is there to configure (it is in the `dev` extra)."""
    return importlib.util.find_spec("opentelemetry.sdk") is not None


async def _handler(event: Event) -> None:
    """A host's handler: it only looks at the event."""
    del event


def _configure(rig: InProcessRig) -> Any:
    """The OpenTelemetry SDK for `rig`'s mount: returns what to shut down afterwards."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Dropping(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracing = TracerProvider()
    tracing.add_span_processor(BatchSpanProcessor(Dropping()))
    meters = MeterProvider(metric_readers=[InMemoryMetricReader()])
    rig.authai.telemetry.use(tracing, meters)
    return tracing, meters


async def measure_observe_cost(count: int, warmup: int) -> Paired:
    """Non-streamed chat completion, ms: observed mount ("ours") vs a plain one ("direct")."""
    observed = await open_rig(mount_options={"on_event": _handler})
    plain = await open_rig()
    plain.authai.telemetry.enabled = False  # as without the `otel` extra
    providers = _configure(observed)
    body = chat_body(stream=False)

    def call(rig: InProcessRig) -> Any:
        async def one() -> None:
            response = await rig.ours.post(CHAT, json=body, headers=rig.auth_header)
            if response.status_code != 200:
                raise RuntimeError(f"proxy answered {response.status_code}")

        return one

    try:
        return await _paired(call(observed), call(plain), count, warmup)
    finally:
        for provider in providers:
            provider.shutdown()
        await observed.aclose()
        await plain.aclose()
