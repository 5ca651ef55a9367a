"""OpenTelemetry: a span per `/v1` call and sign-in step, the metrics of the served path, and
nothing secret (no token, JWT, key, user id or prompt) in any of it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from authai_embed.testing import CodexReply
from tests._support.harness import Harness

pytestmark = pytest.mark.anyio

PROMPT = "tell me about the purple elephant 7f3a"
CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": PROMPT}]}


@dataclass
class Exported:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self) -> dict[str, list[Any]]:
        """Every data point of every metric, by metric name."""
        found: dict[str, list[Any]] = {}
        data = self.metrics.get_metrics_data()
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found

    def total(self, name: str, **attributes: Any) -> float:
        return float(
            sum(
                p.sum if hasattr(p, "sum") else p.value
                for p in self.points().get(name, [])
                if all(p.attributes.get(k) == v for k, v in attributes.items())
            )
        )

    def count(self, name: str) -> int:
        return sum(p.count for p in self.points().get(name, []))


@pytest.fixture
def exported() -> Exported:
    return Exported(InMemorySpanExporter(), InMemoryMetricReader())


def use(harness: Harness, exported: Exported) -> None:
    tracing = TracerProvider()
    tracing.add_span_processor(SimpleSpanProcessor(exported.spans))
    meters = MeterProvider(metric_readers=[exported.metrics])
    harness.authai.telemetry.use(tracing, meters)


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


async def test_v1_calls_and_sign_in_steps_are_spans_with_their_facts(
    harness: Harness, exported: Exported
) -> None:
    use(harness, exported)
    jwt = await harness.sign_in()
    whole = await harness.client.post("/authai/v1/chat/completions", json=CHAT, headers=bearer(jwt))
    assert whole.status_code == 200
    streamed = await harness.client.post(
        "/authai/v1/chat/completions", json={**CHAT, "stream": True}, headers=bearer(jwt)
    )
    assert streamed.status_code == 200
    spans: dict[str, list[ReadableSpan]] = {}
    for span in exported.finished():
        spans.setdefault(span.name, []).append(span)
    [start] = spans["POST /auth/start"]
    [poll] = spans["GET /auth/poll/{id}"]
    for step in (start, poll):
        assert step.attributes is not None
        assert step.attributes["authai.provider"] == "openai"
        assert step.attributes["http.response.status_code"] == 200
    first, second = spans["POST /v1/chat/completions"]
    for call in (first, second):
        attributes = dict(call.attributes or {})
        assert attributes["authai.provider"] == "openai"
        assert attributes["gen_ai.request.model"] == "gpt-5.4"
        assert attributes["http.response.status_code"] == 200
        assert isinstance(attributes["authai.upstream.latency_s"], float)
    assert "authai.upstream.ttft_s" in dict(second.attributes or {})
    usage = whole.json()["usage"]
    assert dict(first.attributes or {})["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]


async def test_the_served_path_metrics(harness: Harness, exported: Exported) -> None:
    use(harness, exported)
    jwt = await harness.sign_in()
    whole = await harness.client.post("/authai/v1/chat/completions", json=CHAT, headers=bearer(jwt))
    await harness.client.post(
        "/authai/v1/chat/completions", json={**CHAT, "stream": True}, headers=bearer(jwt)
    )
    harness.emulator.codex.script(CodexReply.http_error(500))
    failed = await harness.client.post(
        "/authai/v1/chat/completions", json=CHAT, headers=bearer(jwt)
    )
    assert failed.status_code == 502
    harness.emulator.codex.knobs.usage_limit_reached = True
    limited = await harness.client.post(
        "/authai/v1/chat/completions", json=CHAT, headers=bearer(jwt)
    )
    assert limited.status_code == 429
    route = "/v1/chat/completions"
    assert exported.total("authai.requests", **{"http.route": route}) == 4
    assert exported.total("authai.errors", **{"error.type": "upstream_502"}) == 1
    assert exported.total("authai.errors", **{"error.type": "upstream_limit"}) == 1
    assert exported.total("authai.rate_limited", **{"authai.limited_by": "provider"}) == 1
    assert exported.total("authai.open_streams") == 0  # opened once, closed once
    assert exported.count("authai.upstream.latency") >= 2
    assert exported.count("authai.upstream.ttft") == 1
    usage = whole.json()["usage"]
    assert (
        exported.total("authai.tokens", **{"gen_ai.token.type": "input"}) >= usage["prompt_tokens"]
    )
    assert (
        exported.total("authai.tokens", **{"gen_ai.token.type": "output"})
        >= usage["completion_tokens"]
    )


async def test_refreshes_and_their_failures_are_counted(
    harness: Harness, exported: Exported
) -> None:
    use(harness, exported)
    jwt = await harness.sign_in()
    harness.clock.advance(3600)
    assert (await harness.client.get("/authai/v1/models", headers=bearer(jwt))).status_code == 200
    assert exported.total("authai.refreshes", provider="openai") == 1
    harness.emulator.revoke_account(harness.emulator.default_account.account_id)
    harness.clock.advance(3600)
    assert (await harness.client.get("/authai/v1/models", headers=bearer(jwt))).status_code == 401
    assert exported.total("authai.refreshes", provider="openai") == 2
    assert exported.total("authai.refresh_failures", provider="openai") == 1
    assert exported.total("authai.errors", **{"error.type": "unauthorized"}) == 1


async def test_no_token_jwt_key_user_id_or_prompt_in_any_span_or_metric(
    harness: Harness, exported: Exported
) -> None:
    use(harness, exported)
    jwt = await harness.sign_in()
    session = await harness.authai.sessions.open_session(jwt)
    for body in (CHAT, {**CHAT, "stream": True}):
        response = await harness.client.post(
            "/authai/v1/chat/completions", json=body, headers=bearer(jwt)
        )
        assert response.status_code == 200
    await harness.client.post(
        "/authai/v1/responses", json={"model": "gpt-5.4", "input": PROMPT}, headers=bearer(jwt)
    )
    await harness.client.post("/authai/auth/revoke", headers=bearer(jwt))
    spans = exported.finished()
    assert len(spans) >= 5
    dumped = [
        json.dumps(
            [s.name, dict(s.attributes or {}), s.status.description, [e.name for e in s.events]],
            default=str,
        )
        for s in spans
    ]
    dumped += [
        json.dumps([name, dict(p.attributes)], default=str)
        for name, points in exported.points().items()
        for p in points
    ]
    text = "\n".join(dumped)
    assert "gpt-5.4" in text  # the scan reads what was recorded
    secrets = [jwt, session.claims.key.hex(), session.user_id, PROMPT, "purple elephant"]
    secrets += harness.emulator.issued_tokens()
    for secret in secrets:
        assert secret not in text


def test_without_opentelemetry_nothing_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import sys

    import authai_embed.observe.telemetry as installed

    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # as if not installed
    spec = importlib.util.spec_from_file_location("telemetry_without_otel", installed.__file__)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert not module.available()
    telemetry = module.Telemetry()
    assert not telemetry.enabled
    telemetry.refreshed("openai", ok=False)  # a no-op, not an error
    assert installed.available()


async def test_spans_and_metrics_start_when_the_sdk_is_given(
    harness: Harness, exported: Exported
) -> None:
    jwt = await harness.sign_in()  # before: the global providers (no SDK here): nothing kept
    use(harness, exported)
    assert exported.finished() == []
    response = await harness.client.get("/authai/v1/models", headers=bearer(jwt))
    assert response.status_code == 200
    [span] = exported.finished()
    assert span.name == "GET /v1/models"
    assert exported.total("authai.requests", **{"http.route": "/v1/models"}) == 1


def test_histogram_values_reach_the_sdk_when_it_collects_or_a_batch_is_full(
    exported: Exported,
) -> None:
    from authai_embed.observe.telemetry import BATCH, Telemetry

    telemetry = Telemetry()
    telemetry.use(TracerProvider(), MeterProvider(metric_readers=[exported.metrics]))
    attributes = {"authai.provider": "openai", "gen_ai.request.model": "gpt-5.4"}
    telemetry.record(telemetry.upstream_latency, 0.25, attributes)
    telemetry.record(telemetry.ttft, 0.5, attributes)
    assert exported.count("authai.upstream.latency") == 1  # collecting takes what waits
    assert exported.count("authai.upstream.ttft") == 1
    [point] = exported.points()["authai.upstream.latency"]
    assert dict(point.attributes) == attributes
    for _ in range(BATCH):  # a full batch is handed over without waiting for a collection
        telemetry.record(telemetry.upstream_latency, 0.1, attributes)
    assert not telemetry._pending
    assert exported.count("authai.upstream.latency") == 1 + BATCH


def test_the_observers_caches_stay_bounded() -> None:
    from authai_embed.observe import calls
    from authai_embed.observe.bus import EventBus
    from authai_embed.observe.telemetry import Telemetry

    telemetry = Telemetry()
    telemetry.use(TracerProvider(), MeterProvider())
    observer = calls.CallObserver(telemetry, EventBus())
    for n in range(calls.MAX_CACHED + 10):
        call = observer.begin("POST", "/v1/chat/completions")
        assert call is not None
        calls.note_model(f"model-{n}")
        calls.note_upstream_opened(0.0)
        observer.end(call, "user", "openai", 200)
    assert 0 < len(observer._upstream) <= calls.MAX_CACHED
    assert observer.begin("GET", "/auth/me") is None  # not observed, and remembered as such
    assert len(observer._routes) == 2


def test_a_batch_handed_over_during_a_request_ties_no_exemplar_to_its_span(
    exported: Exported,
) -> None:
    from opentelemetry import trace

    from authai_embed.observe.telemetry import BATCH, Telemetry

    tracing = TracerProvider()
    telemetry = Telemetry()
    telemetry.use(tracing, MeterProvider(metric_readers=[exported.metrics]))
    attributes = {"authai.provider": "openai", "gen_ai.request.model": "gpt-5.4"}
    with trace.use_span(tracing.get_tracer("host").start_span("host request"), end_on_exit=True):
        for _ in range(BATCH):
            telemetry.record(telemetry.upstream_latency, 0.1, attributes)
    assert not telemetry._pending
    [point] = exported.points()["authai.upstream.latency"]
    assert point.count == BATCH
    assert not getattr(point, "exemplars", None)


def test_no_span_is_made_until_the_host_configures_an_sdk(
    monkeypatch: pytest.MonkeyPatch, exported: Exported
) -> None:
    from opentelemetry import trace

    from authai_embed.observe import calls
    from authai_embed.observe.bus import EventBus
    from authai_embed.observe.telemetry import Telemetry

    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)  # no global SDK
    monkeypatch.delenv("OTEL_PYTHON_TRACER_PROVIDER", raising=False)
    observer = calls.CallObserver(Telemetry(), EventBus())  # the global providers
    call = observer.begin("POST", "/v1/chat/completions")
    assert call is not None
    assert call.span is None  # its span would record nothing: not made
    observer.end(call, None, "openai", 200)
    tracing = TracerProvider()
    tracing.add_span_processor(SimpleSpanProcessor(exported.spans))
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", tracing)  # as `set_tracer_provider` does
    call = observer.begin("POST", "/v1/chat/completions")
    assert call is not None
    observer.end(call, None, "openai", 200)
    [span] = exported.finished()
    assert span.name == "POST /v1/chat/completions"
    assert dict(span.attributes or {})["authai.provider"] == "openai"
