"""The emulator's GitHub/Copilot and xAI sides on the wire: device-flow answers (pending,
slow_down, expired, denied), the Copilot entitlement and token expiry, refresh rotation and
reuse, discovery failures, and their model APIs' auth and error shapes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from authai_embed import StreamingASGITransport
from authai_embed._util.b64 import b64url_decode
from authai_embed.testing import TOKEN_MARKER, Emulator, ManualClock
from tests._support.harness import ISSUER

pytestmark = pytest.mark.anyio

GH_CLIENT = "Iv1.b507a08c87ecfe98"
QUOTA = "x-quota-snapshot-premium_interactions"
XAI_CLIENT = "b1a00492-073a-47ea-816f-4c329264a828"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
async def http(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=StreamingASGITransport(emulator), base_url=ISSUER
    ) as client:
        yield client


async def gh_device(http: httpx.AsyncClient) -> dict[str, Any]:
    answer = await http.post(
        "/github/login/device/code", data={"client_id": GH_CLIENT, "scope": "read:user"}
    )
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


async def gh_poll(http: httpx.AsyncClient, device_code: str) -> httpx.Response:
    form = {"client_id": GH_CLIENT, "device_code": device_code, "grant_type": DEVICE_GRANT}
    return await http.post("/github/login/oauth/access_token", data=form)


async def test_github_device_flow_answers_200_even_for_errors(
    http: httpx.AsyncClient, emulator: Emulator, clock: ManualClock
) -> None:
    github = emulator.github
    github.knobs.enforce_interval = True
    device = await gh_device(http)
    assert device["interval"] == 5
    assert device["verification_uri"].endswith("/github/login/device")
    first = await gh_poll(http, device["device_code"])
    assert (first.status_code, first.json()["error"]) == (200, "authorization_pending")
    early = await gh_poll(http, device["device_code"])  # no wait: slow_down, interval + 5 for good
    assert (early.status_code, early.json()["error"], early.json()["interval"]) == (
        200,
        "slow_down",
        10,
    )
    clock.advance(10)
    github.approve(device["user_code"])
    token = (await gh_poll(http, device["device_code"])).json()["access_token"]
    assert TOKEN_MARKER in token
    clock.advance(10)
    spent = await gh_poll(http, device["device_code"])
    assert spent.json()["error"] == "incorrect_device_code"
    user = await http.get("/github-api/user", headers={"Authorization": f"token {token}"})
    assert user.json()["login"] == "octocat-emu"

    denied = await gh_device(http)
    github.deny(denied["user_code"])
    assert (await gh_poll(http, denied["device_code"])).json()["error"] == "access_denied"
    late = await gh_device(http)
    clock.advance(901)
    assert (await gh_poll(http, late["device_code"])).json()["error"] == "expired_token"


async def test_copilot_tokens_expire_and_need_a_seat(
    http: httpx.AsyncClient, emulator: Emulator, clock: ManualClock
) -> None:
    github = emulator.github
    github.add_user("no-seat", copilot=False)
    tokens = {}
    for login in ("octocat-emu", "no-seat"):
        device = await gh_device(http)
        github.approve(device["user_code"], login=login)
        tokens[login] = (await gh_poll(http, device["device_code"])).json()["access_token"]
    refused = await http.get(
        "/github-api/copilot_internal/v2/token",
        headers={"Authorization": f"token {tokens['no-seat']}"},
    )
    assert refused.status_code == 403
    assert refused.json()["error_details"]["notification_id"] == "no_copilot_access"
    bad = await http.get("/github-api/copilot_internal/v2/token", headers={"Authorization": "x"})
    assert bad.status_code == 401
    minted = (
        await http.get(
            "/github-api/copilot_internal/v2/token",
            headers={"Authorization": f"token {tokens['octocat-emu']}"},
        )
    ).json()
    assert minted["expires_at"] == int(clock.now()) + 1800
    assert minted["refresh_in"] == 1500
    assert minted["endpoints"]["api"] == f"{ISSUER}/copilot"
    headers = {
        "Authorization": f"Bearer {minted['token']}",
        "Copilot-Integration-Id": "vscode-chat",
    }
    models = await http.get("/copilot/models", headers=headers)
    assert [m["id"] for m in models.json()["data"]][:2] == ["gpt-5.4", "gpt-5.4-codex"]
    codex_on_chat = await http.post(
        "/copilot/chat/completions",
        json={"model": "gpt-5.4-codex", "messages": [{"role": "user", "content": "x"}]},
        headers=headers,
    )
    assert codex_on_chat.status_code == 400
    assert codex_on_chat.json() == {
        "error": {
            "message": 'model "gpt-5.4-codex" is not accessible via the /chat/completions endpoint',
            "code": "unsupported_api_for_model",
        }
    }
    clock.advance(1800)
    expired = await http.get("/copilot/models", headers=headers)
    assert expired.status_code == 401


async def copilot_headers(http: httpx.AsyncClient, emulator: Emulator) -> dict[str, str]:
    device = await gh_device(http)
    emulator.github.approve(device["user_code"])
    token = (await gh_poll(http, device["device_code"])).json()["access_token"]
    minted = await http.get(
        "/github-api/copilot_internal/v2/token", headers={"Authorization": f"token {token}"}
    )
    return {
        "Authorization": f"Bearer {minted.json()['token']}",
        "Copilot-Integration-Id": "vscode-chat",
    }


async def test_copilot_serves_a_model_where_the_unsupported_api_knob_says(
    http: httpx.AsyncClient, emulator: Emulator
) -> None:
    headers = await copilot_headers(http, emulator)
    emulator.github.knobs.unsupported_api["claude-sonnet-4.5"] = ("/chat/completions",)
    chat = {"model": "claude-sonnet-4.5", "messages": [{"role": "user", "content": "x"}]}
    refused = await http.post("/copilot/chat/completions", json=chat, headers=headers)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "unsupported_api_for_model"
    # Served on /responses although the catalog lists chat only, with the real event shapes.
    body = {"model": "claude-sonnet-4.5", "input": "ping", "stream": True}
    streamed = await http.post("/copilot/responses", json=body, headers=headers)
    assert streamed.status_code == 200
    kinds = [
        json.loads(line[6:])["type"] for line in streamed.text.splitlines() if line[:6] == "data: "
    ]
    assert kinds[0] == "response.created"
    assert "response.output_text.delta" in kinds
    assert kinds[-1] == "response.completed"
    emulator.github.knobs.unsupported_api["claude-sonnet-4.5"] = ("/chat/completions", "/responses")
    neither = await http.post("/copilot/responses", json=body, headers=headers)
    assert neither.json()["error"]["code"] == "unsupported_api_for_model"


async def test_copilot_counts_premium_requests_and_reports_the_quota(
    http: httpx.AsyncClient, emulator: Emulator
) -> None:
    headers = await copilot_headers(http, emulator)
    billing = {m["id"]: m["billing"] for m in emulator.github.model.catalog}
    assert billing["gpt-5.4"] == {"is_premium": True, "multiplier": 1}
    assert billing["gpt-4.1"] == {"is_premium": False, "multiplier": 0}

    async def call(model: str, initiator: str) -> httpx.Response:
        chat = {"model": model, "messages": [{"role": "user", "content": "x"}]}
        sent = {**headers, "X-Initiator": initiator}
        return await http.post("/copilot/chat/completions", json=chat, headers=sent)

    await call("gpt-5.4", "user")
    await call("gpt-5.4", "agent")
    last = await call("gpt-4.1", "user")
    assert emulator.github.api.premium_used == {"octocat-emu": 1.0}
    quota = dict(p.split("=") for p in last.headers[QUOTA].split("&"))
    assert quota["ent"] == "300"
    assert quota["rem"] == "99.7"
    assert quota["rst"].startswith("2027-02-01T00")  # the 1st of next month, UTC
    emulator.github.knobs.premium_entitlement = None
    assert QUOTA not in (await call("gpt-4.1", "user")).headers


async def xai_device(http: httpx.AsyncClient) -> dict[str, str]:
    answer = await http.post(
        "/xai-auth/oauth2/device/code", data={"client_id": XAI_CLIENT, "scope": "openid"}
    )
    assert answer.status_code == 200
    body: dict[str, str] = answer.json()
    return body


async def xai_token(http: httpx.AsyncClient, **form: str) -> httpx.Response:
    return await http.post("/xai-auth/oauth2/token", data={"client_id": XAI_CLIENT, **form})


async def test_xai_device_flow_and_rotating_refresh(
    http: httpx.AsyncClient, emulator: Emulator, clock: ManualClock
) -> None:
    xai = emulator.xai
    discovery = (await http.get("/xai-auth/.well-known/openid-configuration")).json()
    assert discovery["device_authorization_endpoint"] == f"{ISSUER}/xai-auth/oauth2/device/code"
    device = await xai_device(http)
    assert device["verification_uri_complete"].endswith(f"user_code={device['user_code']}")
    pending = await xai_token(http, grant_type=DEVICE_GRANT, device_code=device["device_code"])
    assert (pending.status_code, pending.json()["error"]) == (400, "authorization_pending")
    xai.approve(device["user_code"])
    issued = (
        await xai_token(http, grant_type=DEVICE_GRANT, device_code=device["device_code"])
    ).json()
    assert issued["expires_in"] == 900
    first_refresh = issued["refresh_token"]
    rotated = (
        await xai_token(http, grant_type="refresh_token", refresh_token=first_refresh)
    ).json()
    assert rotated["refresh_token"] != first_refresh
    api = {"Authorization": f"Bearer {rotated['access_token']}"}
    assert (await http.get("/xai/v1/models", headers=api)).status_code == 200
    reused = await xai_token(http, grant_type="refresh_token", refresh_token=first_refresh)
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert xai.stats.refresh_reuses == 1
    # Reuse revoked the whole family: the newer tokens stop working too.
    assert (await http.get("/xai/v1/models", headers=api)).status_code == 401
    again = await xai_token(
        http, grant_type="refresh_token", refresh_token=rotated["refresh_token"]
    )
    assert again.status_code == 400

    denied = await xai_device(http)
    xai.deny(denied["user_code"])
    answer = await xai_token(http, grant_type=DEVICE_GRANT, device_code=denied["device_code"])
    assert answer.json()["error"] == "access_denied"
    late = await xai_device(http)
    clock.advance(901)
    answer = await xai_token(http, grant_type=DEVICE_GRANT, device_code=late["device_code"])
    assert answer.json()["error"] == "expired_token"


async def test_xai_revocation_endpoint_is_listed_by_discovery_and_ends_the_sign_in(
    http: httpx.AsyncClient, emulator: Emulator
) -> None:
    xai = emulator.xai
    discovery = (await http.get("/xai-auth/.well-known/openid-configuration")).json()
    assert discovery["revocation_endpoint"] == f"{ISSUER}/xai-auth/oauth2/revoke"
    device = await xai_device(http)
    xai.approve(device["user_code"])
    answer = await xai_token(http, grant_type=DEVICE_GRANT, device_code=device["device_code"])
    issued = answer.json()
    form = {"token": issued["refresh_token"], "token_type_hint": "refresh_token"}
    revoked = await http.post("/xai-auth/oauth2/revoke", data={**form, "client_id": XAI_CLIENT})
    assert (revoked.status_code, revoked.json(), xai.stats.revocations) == (200, {}, 1)
    api = {"Authorization": f"Bearer {issued['access_token']}"}
    assert (await http.get("/xai/v1/models", headers=api)).status_code == 401
    refused = await xai_token(http, grant_type="refresh_token", refresh_token=form["token"])
    assert refused.status_code == 400
    xai.knobs.revocation_listed = False
    discovery = (await http.get("/xai-auth/.well-known/openid-configuration")).json()
    assert "revocation_endpoint" not in discovery
    off = await http.post("/xai-auth/oauth2/revoke", data={**form, "client_id": XAI_CLIENT})
    assert off.status_code == 404


async def test_xai_token_answers_may_send_a_zero_lifetime(
    http: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.xai.knobs.expires_in = "zero"
    device = await xai_device(http)
    emulator.xai.approve(device["user_code"])
    answer = await xai_token(http, grant_type=DEVICE_GRANT, device_code=device["device_code"])
    issued = answer.json()
    assert issued["expires_in"] == 0
    claims = json.loads(b64url_decode(issued["access_token"].split(".")[1]))
    assert claims["exp"] - claims["iat"] == 900


async def test_xai_discovery_failures_device_flow_off_and_access_expiry(
    http: httpx.AsyncClient, emulator: Emulator, clock: ManualClock
) -> None:
    xai = emulator.xai
    xai.knobs.discovery_failures = 1
    assert (await http.get("/xai-auth/.well-known/openid-configuration")).status_code == 503
    assert (await http.get("/xai-auth/.well-known/openid-configuration")).status_code == 200
    xai.knobs.device_flow_enabled = False
    off = await http.post("/xai-auth/oauth2/device/code", data={"client_id": XAI_CLIENT})
    assert off.status_code == 404
    xai.knobs.device_flow_enabled = True
    device = await xai_device(http)
    xai.approve(device["user_code"])
    issued = (
        await xai_token(http, grant_type=DEVICE_GRANT, device_code=device["device_code"])
    ).json()
    api = {"Authorization": f"Bearer {issued['access_token']}"}
    xai.knobs.billing = "spending_limit"
    body = {"model": "grok-4", "messages": [{"role": "user", "content": "x"}]}
    billed = await http.post("/xai/v1/chat/completions", json=body, headers=api)
    assert billed.status_code == 403
    assert "spending limit" in billed.json()["error"]
    xai.knobs.billing = None
    assert (await http.post("/xai/v1/chat/completions", json=body, headers=api)).status_code == 200
    clock.advance(900)
    expired = await http.post("/xai/v1/chat/completions", json=body, headers=api)
    assert expired.status_code == 401
