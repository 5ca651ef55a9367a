"""Webhooks: every event is POSTed as signed JSON, retried with backoff on failure, and a
receiver (examples/webhook_receiver.py, with `verify_webhook`) refuses forgeries and replays."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authai_embed import ConfigError, QuotaExceededEvent, Settings, sign_webhook, verify_webhook
from authai_embed.observe.webhook_sender import ATTEMPTS, WebhookSender
from tests._support.harness import Harness, HarnessFactory

pytestmark = pytest.mark.anyio

SECRET = "whsec-" + "k" * 40
URL = "http://receiver.test/authai-events"
BODY = b'{"type":"signed_in","user_id":"u1","provider":"openai","at":1.0,"session_id":"s"}'
NOW = 1_800_000_000


def receiver_example() -> ModuleType:
    path = Path(__file__).parents[2] / "examples" / "webhook_receiver.py"
    spec = importlib.util.spec_from_file_location("webhook_receiver", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_signed_body_verifies() -> None:
    header = sign_webhook(BODY, SECRET, NOW)
    assert header.startswith(f"t={NOW},v1=")
    assert verify_webhook(BODY, header, SECRET, now=NOW + 299)
    assert verify_webhook(BODY.decode(), header, SECRET.encode(), now=NOW)


def test_a_tampered_body_or_another_secret_does_not_verify() -> None:
    header = sign_webhook(BODY, SECRET, NOW)
    assert not verify_webhook(BODY.replace(b"u1", b"u2"), header, SECRET, now=NOW)
    assert not verify_webhook(BODY, header, SECRET + "x", now=NOW)
    forged = header.replace(f"t={NOW}", f"t={NOW + 1}")  # a fresher time on an old signature
    assert not verify_webhook(BODY, forged, SECRET, now=NOW + 1)


def test_a_replay_outside_the_tolerance_does_not_verify() -> None:
    header = sign_webhook(BODY, SECRET, NOW)
    assert not verify_webhook(BODY, header, SECRET, now=NOW + 301)
    assert not verify_webhook(BODY, header, SECRET, now=NOW - 301)
    assert verify_webhook(BODY, header, SECRET, tolerance=600, now=NOW + 500)


@pytest.mark.parametrize(
    "header",
    [None, "", "v1=abc", f"t={NOW}", f"t=x,v1={'0' * 64}", "garbage", f"t={NOW},v1=\u00e9"],
)
def test_a_malformed_signature_header_does_not_verify(header: str | None) -> None:
    assert not verify_webhook(BODY, header, SECRET, now=NOW)


def test_any_of_several_signatures_verifies_while_rotating_secrets() -> None:
    old = sign_webhook(BODY, "old-" + SECRET, NOW)
    new = sign_webhook(BODY, SECRET, NOW).partition(",")[2]
    assert verify_webhook(BODY, f"{old},{new}", SECRET, now=NOW)


def test_a_webhook_url_needs_a_strong_secret() -> None:
    with pytest.raises(ConfigError, match="webhook_secret"):
        Settings.build(webhook_url=URL)
    with pytest.raises(ConfigError, match="webhook_secret"):
        Settings.build(webhook_url=URL, webhook_secret="short")
    with pytest.raises(ConfigError, match="webhook_url"):
        Settings.build(webhook_url="ftp://x", webhook_secret=SECRET)
    settings = Settings.from_env({"AUTH_AI_WEBHOOK_URL": URL, "AUTH_AI_WEBHOOK_SECRET": SECRET})
    assert (settings.webhook_url, settings.webhook_secret) == (URL, SECRET)
    assert SECRET not in repr(settings)


async def webhook_harness(make_harness: HarnessFactory, receiver: Any) -> tuple[Harness, Any]:
    harness = await make_harness(webhook_url=URL, webhook_secret=SECRET)
    [sender] = harness.authai.events.services
    assert isinstance(sender, WebhookSender)
    sender.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver))
    sender.first_delay = 0.0
    await harness.authai.startup()
    return harness, sender


async def test_events_reach_the_example_receiver_signed_and_without_secrets(
    make_harness: HarnessFactory,
) -> None:
    received: list[dict[str, Any]] = []

    async def handle(event: dict[str, Any]) -> None:
        received.append(event)

    receiver = receiver_example().make_app(SECRET, handle, tolerance=10**10)
    harness, sender = await webhook_harness(make_harness, receiver)
    jwt = await harness.sign_in()
    await harness.client.post("/authai/auth/revoke", headers={"Authorization": f"Bearer {jwt}"})
    await harness.authai.events.flush()
    await sender.flush()
    assert [e["type"] for e in received] == ["signed_in", "signed_out"]
    assert received[1]["reason"] == "signed_out"
    text = json.dumps(received)
    for secret in [jwt, *harness.emulator.issued_tokens()]:
        assert secret not in text
    await sender.client.aclose()


async def test_the_example_receiver_refuses_forgeries_and_handles_a_retry_once() -> None:
    handled: list[dict[str, Any]] = []

    async def handle(event: dict[str, Any]) -> None:
        handled.append(event)

    receiver = receiver_example().make_app(SECRET, handle, tolerance=10**10)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=receiver), base_url="http://r.test"
    ) as client:
        good = {"X-AuthAI-Signature": sign_webhook(BODY, SECRET, NOW), "X-AuthAI-Delivery": "d1"}
        forged = {**good, "X-AuthAI-Signature": sign_webhook(BODY, "wrong" + SECRET, NOW)}
        assert (
            await client.post("/authai-events", content=BODY, headers=forged)
        ).status_code == 400
        tampered = BODY.replace(b"u1", b"u2")
        response = await client.post("/authai-events", content=tampered, headers=good)
        assert response.status_code == 400
        for _ in range(2):
            response = await client.post("/authai-events", content=BODY, headers=good)
            assert response.status_code == 204
    assert handled == [json.loads(BODY)]


def flaky_receiver(statuses: list[int], seen: list[httpx.Headers]) -> Starlette:
    """Answers each delivery with the next of `statuses` (then 204), noting its headers."""

    async def receive(request: Request) -> Response:
        body = await request.body()
        assert verify_webhook(body, request.headers["x-authai-signature"], SECRET, 10**10)
        seen.append(httpx.Headers(request.headers))
        return Response(status_code=statuses.pop(0) if statuses else 204)

    return Starlette(routes=[Route("/authai-events", receive, methods=["POST"])])


async def test_a_failed_delivery_is_retried_with_the_same_delivery_id(
    make_harness: HarnessFactory,
) -> None:
    seen: list[httpx.Headers] = []
    harness, sender = await webhook_harness(make_harness, flaky_receiver([503, 429], seen))
    harness.authai.events.quota_exceeded("u", "openai", "q")
    await harness.authai.events.flush()
    await sender.flush()
    assert len(seen) == 3
    assert len({h["x-authai-delivery"] for h in seen}) == 1
    await sender.client.aclose()


async def test_deliveries_stop_after_the_attempts_or_at_a_refusal(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[httpx.Headers] = []
    statuses = [500] * ATTEMPTS + [400]
    harness, sender = await webhook_harness(make_harness, flaky_receiver(statuses, seen))
    harness.authai.events.quota_exceeded("u", "openai", "q")
    harness.authai.events.quota_exceeded("u", "openai", "q")
    await harness.authai.events.flush()
    await sender.flush()
    assert len(seen) == ATTEMPTS + 1  # every attempt for the first, one for the refused
    assert f"gave up on a quota_exceeded event after {ATTEMPTS} attempts: 500" in caplog.text
    assert "after 1 attempts: 400" in caplog.text
    await sender.client.aclose()


async def test_an_unreachable_receiver_is_retried_then_given_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    sender = WebhookSender(URL, SECRET, client=client)
    sender.first_delay = 0.0
    sender.start()
    await sender(QuotaExceededEvent("u", "openai", 1.0, "q"))
    await sender.stop(within=5)
    assert f"after {ATTEMPTS} attempts: ConnectError" in caplog.text
    await client.aclose()
