"""The reference React SDK's request sequence, recorded from its source as a fixture, replayed
against our mount: every answer has what the SDK reads, so an app built on `@authai-io/react`
0.2.x works when pointed at the mount unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from authai_embed._util.b64 import b64url_decode
from tests._support.harness import Harness, HarnessFactory

pytestmark = pytest.mark.anyio

SEQUENCE: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "react_sdk_sequence.json").read_text()
)
STEPS = {step["name"]: step for step in SEQUENCE["steps"]}
RELAY_URL = "http://app.test/authai/"  # as an app would configure it; the SDK trims the slash
PENDING_POLLS = 3  # polls before the user approves


def join_url(base: str, path: str) -> str:
    """The SDK's joinUrl: `base.replace(/\\/+$/, "") + path`."""
    return base.rstrip("/") + path


def lookup(body: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        assert isinstance(body, dict), f"{dotted}: not an object on the way"
        assert part in body, f"missing {dotted} in {body}"
        body = body[part]
    return body


def check_value(name: str, value: Any, kind: Any) -> None:
    if kind == "string":
        assert isinstance(value, str), (name, value)
        assert value, name
    elif kind == "number":
        assert isinstance(value, int | float), (name, value)
        assert not isinstance(value, bool), (name, value)
    else:
        assert value in kind, (name, value, kind)


def check_answer(response: httpx.Response, expect: dict[str, Any]) -> Any:
    """What the SDK's readJsonBody accepts: `ok` decides; the body must be JSON with the fields."""
    assert response.is_success is expect["ok"], (response.status_code, response.text)
    if "status" in expect:
        assert response.status_code == expect["status"]
    body = response.json() if response.content else None
    for name, kind in expect["fields"].items():
        check_value(name, lookup(body, name), kind)
    return body


class SdkReplay:
    """Plays the fixture's steps the way the SDK does, substituting earlier answers."""

    def __init__(self, harness: Harness, extra_headers: dict[str, str]) -> None:
        self.harness = harness
        self.extra = extra_headers
        self.values: dict[str, str] = {}

    async def send(self, step: dict[str, Any]) -> httpx.Response:
        path = step["path"].format(**self.values)
        headers = {k: v.format(**self.values) for k, v in step["headers"].items()}
        if step.get("extra_headers"):
            headers.update(self.extra)
        content = None if step["body"] is None else json.dumps(step["body"]).encode()
        return await self.harness.client.request(
            step["method"], join_url(RELAY_URL, path), headers=headers, content=content
        )


def extra_header_variants() -> list[dict[str, str]]:
    key = "x-authai-publishable-key"
    return [{}, {key: SEQUENCE["optional_headers"][key]}]


@pytest.mark.parametrize("extra", extra_header_variants(), ids=["plain", "publishable-key"])
async def test_the_sdk_sequence_gets_the_answers_it_reads(
    harness: Harness, extra: dict[str, str]
) -> None:
    replay = SdkReplay(harness, extra)
    clock = harness.clock

    start = check_answer(await replay.send(STEPS["start"]), STEPS["start"]["expect"])
    replay.values["sessionId"] = start["sessionId"]
    wait_s = max(1000, start["pollIntervalMs"]) / 1000  # the SDK's poll interval
    deadline = clock.now() + start["expiresInMs"] / 1000

    poll_step = STEPS["poll"]
    statuses: list[str] = []
    polled: dict[str, Any] = {"status": "pending"}
    while polled["status"] == "pending":
        assert clock.now() < deadline, "the SDK would give up: authorization timed out"
        clock.advance(wait_s)
        polled = check_answer(await replay.send(poll_step), poll_step["expect"])
        for name, kind in poll_step["expect"]["when"].get(polled["status"], {}).items():
            check_value(name, lookup(polled, name), kind)
        statuses.append(polled["status"])
        if len(statuses) == PENDING_POLLS:
            harness.emulator.approve(start["userCode"])
    assert statuses == ["pending"] * PENDING_POLLS + ["complete"]
    jwt: str = polled["jwt"]
    replay.values["jwt"] = jwt

    claims = json.loads(b64url_decode(jwt.split(".")[1]))
    wanted = STEPS["jwt_payload"]["reads_jwt_claims"]
    assert claims["prov"] in wanted["prov"]
    assert isinstance(claims["exp"], int)
    assert claims["exp"] > clock.now()

    for name in ("whoami", "revoke", "whoami_after_revoke"):
        check_answer(await replay.send(STEPS[name]), STEPS[name]["expect"])


@pytest.mark.parametrize("step", SEQUENCE["error_answers"], ids=lambda s: s["name"])
async def test_sdk_error_paths_get_a_readable_error(harness: Harness, step: dict[str, Any]) -> None:
    check_answer(await SdkReplay(harness, {}).send(step), step["expect"])


async def test_a_browser_on_another_origin_may_send_the_sdk_headers(
    make_harness: HarnessFactory,
) -> None:
    """Browser-direct use from another origin: the preflight of the SDK's start request (JSON
    body, optional publishable key) is allowed for a listed origin."""
    harness = await make_harness(allowed_origins=("https://spa.test",))
    preflight = await harness.client.options(
        join_url(RELAY_URL, "/auth/start"),
        headers={
            "Origin": "https://spa.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-authai-publishable-key",
        },
    )
    assert preflight.status_code == 204
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "content-type" in allowed
    assert "x-authai-publishable-key" in allowed
    assert "authorization" in allowed  # revoke sends the JWT as a bearer
    assert preflight.headers["access-control-allow-origin"] == "https://spa.test"
