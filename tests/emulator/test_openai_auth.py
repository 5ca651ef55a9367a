"""The emulator's ChatGPT auth side, spoken to over HTTP exactly as the real server would be."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from authai_embed._util.b64 import b64url_decode
from authai_embed.testing import TOKEN_MARKER, ApprovalError, Emulator, ManualClock

ISSUER = "http://auth.emulator.test"
CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
REDIRECT_URI = f"{ISSUER}/deviceauth/callback"
START = 1_800_000_000.0
AUTH_CLAIM = "https://api.openai.com/auth"
PROFILE_CLAIM = "https://api.openai.com/profile"
FORM = {"content-type": "application/x-www-form-urlencoded"}

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=emulator)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
        yield http


# Helpers -------------------------------------------------------------------------------------


async def start(client: httpx.AsyncClient, originator: str = "authai_test") -> dict[str, Any]:
    response = await client.post(
        "/api/accounts/deviceauth/usercode",
        json={"client_id": CLIENT_ID},
        headers={"originator": originator},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def poll(client: httpx.AsyncClient, started: dict[str, Any]) -> httpx.Response:
    return await client.post(
        "/api/accounts/deviceauth/token",
        json={"device_auth_id": started["device_auth_id"], "user_code": started["user_code"]},
    )


async def exchange(
    client: httpx.AsyncClient, grant: dict[str, Any], **override: str
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": grant["authorization_code"],
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "code_verifier": grant["code_verifier"],
        **override,
    }
    return await client.post("/oauth/token", data=form)


async def refresh(
    client: httpx.AsyncClient, token: str, *, as_json: bool = False
) -> httpx.Response:
    params = {
        "grant_type": "refresh_token",
        "refresh_token": token,
        "client_id": CLIENT_ID,
        "scope": "openid profile email",
    }
    if as_json:
        return await client.post("/oauth/token", json=params)
    return await client.post("/oauth/token", data=params)


async def approved_grant(
    client: httpx.AsyncClient, emulator: Emulator, account: str | None = None
) -> dict[str, Any]:
    started = await start(client)
    emulator.approve(started["user_code"], account=account)
    response = await poll(client, started)
    assert response.status_code == 200, response.text
    grant: dict[str, Any] = response.json()
    return grant


async def sign_in(
    client: httpx.AsyncClient, emulator: Emulator, account: str | None = None
) -> dict[str, Any]:
    response = await exchange(client, await approved_grant(client, emulator, account))
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), signature


def error_code(response: httpx.Response) -> str:
    error = response.json()["error"]
    return error if isinstance(error, str) else error["code"]


# User codes ----------------------------------------------------------------------------------


async def test_user_code_answer_has_the_real_shape_and_records_the_originator(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    started = await start(client, originator="my_app")
    assert set(started) == {"device_auth_id", "user_code", "interval", "expires_at"}
    assert started["interval"] == "5"  # a string, as the real server sends it
    assert started["expires_at"] == "2027-01-15T08:15:00Z"  # START + 15 minutes
    assert len(started["user_code"]) == 10
    assert started["user_code"][4] == "-"
    (device,) = emulator.device_authorizations()
    assert device.originator == "my_app"
    assert device.user_code == started["user_code"]
    assert emulator.stats.device_codes == 1


async def test_interval_and_code_lifetime_are_knobs(clock: ManualClock) -> None:
    emulator = Emulator(clock=clock, interval=7, device_code_ttl=60)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator), base_url=ISSUER) as c:
        started = await start(c)
        assert started["interval"] == 7
        assert started["expires_at"] == "2027-01-15T08:01:00Z"


@pytest.mark.parametrize(
    ("body", "code"),
    [({"client_id": "app_someone_else"}, "invalid_client"), ({}, "invalid_request")],
)
async def test_unknown_or_missing_client_id_is_a_400_with_an_error_json(
    client: httpx.AsyncClient, body: dict[str, str], code: str
) -> None:
    response = await client.post("/api/accounts/deviceauth/usercode", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


async def test_server_without_device_login_answers_404(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.knobs.device_login_available = False
    response = await client.post("/api/accounts/deviceauth/usercode", json={"client_id": CLIENT_ID})
    assert response.status_code == 404


# The device flow and the exchange ------------------------------------------------------------


async def test_full_device_flow_and_exchange(client: httpx.AsyncClient, emulator: Emulator) -> None:
    started = await start(client)
    pending = await poll(client, started)
    assert pending.status_code == 403
    assert pending.json()["error"]["code"] == "deviceauth_authorization_unknown"

    emulator.approve(started["user_code"])
    grant_response = await poll(client, started)
    assert grant_response.status_code == 200
    grant = grant_response.json()
    assert set(grant) == {"authorization_code", "code_verifier", "code_challenge"}
    digest = hashlib.sha256(grant["code_verifier"].encode()).digest()
    assert grant["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    response = await exchange(client, grant)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert set(tokens) == {
        "id_token",
        "access_token",
        "refresh_token",
        "expires_in",
        "token_type",
        "scope",
    }
    assert tokens["expires_in"] == 3600
    assert tokens["token_type"] == "Bearer"
    assert tokens["scope"] == "openid profile email offline_access"

    account = emulator.default_account
    for name in ("access_token", "id_token"):
        header, claims, _ = segments(tokens[name])
        assert header["alg"] == "RS256"
        assert header["typ"] == "JWT"
        assert header["kid"]
        assert claims["iss"] == ISSUER
        assert claims["sub"] == account.user_id
        assert claims["iat"] == int(START)
        assert claims["email"] == account.email
        assert claims[PROFILE_CLAIM]["email"] == account.email
        assert claims[AUTH_CLAIM]["chatgpt_account_id"] == account.account_id
        assert claims[AUTH_CLAIM]["chatgpt_plan_type"] == "plus"
        assert claims[AUTH_CLAIM]["chatgpt_user_id"] == account.user_id
    assert segments(tokens["access_token"])[1]["exp"] == int(START) + 3600
    assert CLIENT_ID in segments(tokens["id_token"])[1]["aud"]
    assert emulator.check_access_token(tokens["access_token"]) == account
    assert emulator.stats.exchanges == 1
    assert emulator.stats.approvals == 1


async def test_the_grant_is_issued_once_per_approval_and_its_code_is_single_use(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    started = await start(client)
    emulator.approve(started["user_code"])
    first, second = (await poll(client, started)).json(), (await poll(client, started)).json()
    assert first == second
    assert (await exchange(client, first)).status_code == 200
    again = await exchange(client, first)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert emulator.stats.exchanges == 1
    assert emulator.stats.rejected_exchanges == 1


async def test_exchange_accepts_a_json_body(client: httpx.AsyncClient, emulator: Emulator) -> None:
    grant = await approved_grant(client, emulator)
    response = await client.post(
        "/oauth/token",
        json={
            "grant_type": "authorization_code",
            "code": grant["authorization_code"],
            "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID,
            "code_verifier": grant["code_verifier"],
        },
    )
    assert response.status_code == 200, response.text


async def test_pkce_mismatch_is_invalid_grant_and_does_not_spend_the_code(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    grant = await approved_grant(client, emulator)
    wrong = await exchange(client, grant, code_verifier="x" * 64)
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert "code_verifier" in wrong.json()["error_description"]
    assert (await exchange(client, grant)).status_code == 200


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://auth.openai.com/deviceauth/callback", f"{ISSUER}/callback", f"{ISSUER}/deviceauth"],
)
async def test_redirect_uri_must_be_the_issuers_device_callback(
    client: httpx.AsyncClient, emulator: Emulator, redirect_uri: str
) -> None:
    grant = await approved_grant(client, emulator)
    response = await exchange(client, grant, redirect_uri=redirect_uri)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "redirect_uri" in response.json()["error_description"]


async def test_exchange_rejects_another_client_and_missing_parameters(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    grant = await approved_grant(client, emulator)
    other = await exchange(client, grant, client_id="app_other")
    assert other.status_code == 401
    assert other.json()["error"] == "invalid_client"
    missing = await exchange(client, grant, code_verifier="")
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    unsupported = await client.post("/oauth/token", data={"grant_type": "password"})
    assert unsupported.json()["error"] == "unsupported_grant_type"


async def test_authorization_code_expires(
    client: httpx.AsyncClient, emulator: Emulator, clock: ManualClock
) -> None:
    grant = await approved_grant(client, emulator)
    clock.advance(emulator.knobs.authorization_code_ttl)
    response = await exchange(client, grant)
    assert response.status_code == 400
    assert "expired" in response.json()["error_description"]


# Pending, denied, expired, slow_down ---------------------------------------------------------


async def test_unknown_ids_and_wrong_user_codes_look_pending(
    client: httpx.AsyncClient,
) -> None:
    started = await start(client)
    pending = await poll(client, started)
    unknown = await poll(client, {**started, "device_auth_id": "deviceauth_nope"})
    mismatch = await poll(client, {**started, "user_code": "ZZZZ-ZZZZZ"})
    assert {r.status_code for r in (pending, unknown, mismatch)} == {403}
    assert pending.json() == unknown.json() == mismatch.json()


async def test_denied_code_answers_access_denied(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    started = await start(client)
    emulator.deny(started["user_code"])
    response = await poll(client, started)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "access_denied"
    assert emulator.stats.denials == 1
    with pytest.raises(ApprovalError, match="already denied"):
        emulator.approve(started["user_code"])


async def test_expired_code_answers_410_and_can_no_longer_be_approved(
    client: httpx.AsyncClient, emulator: Emulator, clock: ManualClock
) -> None:
    started = await start(client)
    clock.advance(15 * 60 - 1)
    assert (await poll(client, started)).status_code == 403
    clock.advance(1)
    response = await poll(client, started)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "expired_token"
    with pytest.raises(ApprovalError, match="expired"):
        emulator.approve(started["user_code"])


async def test_slow_down_only_with_the_knob(
    client: httpx.AsyncClient, emulator: Emulator, clock: ManualClock
) -> None:
    started = await start(client)
    for _ in range(3):  # without the knob, fast polls are simply pending
        assert (await poll(client, started)).status_code == 403
    assert emulator.stats.slow_downs == 0

    emulator.knobs.enforce_interval = True
    clock.advance(5)
    assert (await poll(client, started)).status_code == 403
    clock.advance(4.9)
    fast = await poll(client, started)
    assert fast.status_code == 429
    assert fast.json()["error"]["code"] == "slow_down"
    assert fast.headers["retry-after"] == "5"
    clock.advance(5)
    assert (await poll(client, started)).status_code == 403
    assert emulator.stats.slow_downs == 1
    assert emulator.stats.device_polls == 6


async def test_user_codes_are_matched_as_people_type_them(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    started = await start(client)
    emulator.approve(" " + started["user_code"].replace("-", "").lower() + " ")
    assert (await poll(client, started)).status_code == 200
    with pytest.raises(ApprovalError, match="not valid"):
        emulator.approve("NOPE-NOPE1")


async def test_account_without_device_login_cannot_approve(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.add_account(account_id="acct-locked", email="locked@example.com")
    emulator.account("acct-locked").device_login_enabled = False
    started = await start(client)
    with pytest.raises(ApprovalError, match="unknown account"):
        emulator.approve(started["user_code"], account="acct-missing")
    with pytest.raises(ApprovalError, match="ChatGPT Security Settings"):
        emulator.approve(started["user_code"], account="acct-locked")
    # The refusal is final for this code, and the device's poll says why.
    polled = await poll(client, started)
    assert polled.status_code == 403
    assert error_code(polled) == "device_code_authorization_disabled"
    assert "Enable device code authorization" in polled.json()["error"]["message"]
    with pytest.raises(ApprovalError, match="already disabled"):
        emulator.approve(started["user_code"])


async def test_workspace_accounts_are_told_to_ask_their_admin(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.add_account("acct-team", plan="team", device_login_enabled=False)
    started = await start(client)
    with pytest.raises(ApprovalError, match="contact your workspace admin"):
        emulator.approve(started["user_code"], account="acct-team")
    polled = await poll(client, started)
    assert "workspace admin" in polled.json()["error"]["message"]


# Refresh -------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_json", [False, True])
async def test_refresh_rotates_every_token(
    client: httpx.AsyncClient, emulator: Emulator, clock: ManualClock, as_json: bool
) -> None:
    first = await sign_in(client, emulator)
    clock.advance(600)
    response = await refresh(client, first["refresh_token"], as_json=as_json)
    assert response.status_code == 200, response.text
    second = response.json()
    for name in ("access_token", "id_token", "refresh_token"):
        assert second[name] != first[name]
    assert segments(second["access_token"])[1]["iat"] == int(START) + 600
    assert segments(second["id_token"])[1][AUTH_CLAIM]["chatgpt_account_id"] == (
        emulator.default_account.account_id
    )
    assert emulator.check_access_token(second["access_token"]) == emulator.default_account
    assert (await refresh(client, second["refresh_token"])).status_code == 200
    assert emulator.stats.refreshes == 2


async def test_reused_refresh_token_is_rejected_as_the_real_server_does(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    first = await sign_in(client, emulator)
    second = (await refresh(client, first["refresh_token"])).json()
    reused = await refresh(client, first["refresh_token"])
    assert reused.status_code == 401
    error = reused.json()["error"]
    assert error["code"] == "refresh_token_reused"
    assert error["type"] == "invalid_request_error"
    assert "already been used" in error["message"]
    assert emulator.stats.refresh_reuses == 1
    assert emulator.stats.rejected_refreshes == 1
    assert emulator.stats.refresh_failures == ["refresh_token_reused"]
    # By default the newer token survives the reuse.
    assert (await refresh(client, second["refresh_token"])).status_code == 200


async def test_reuse_can_end_the_whole_sign_in(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    emulator = Emulator(clock=clock, revoke_family_on_reuse=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator), base_url=ISSUER) as c:
        first = await sign_in(c, emulator)
        second = (await refresh(c, first["refresh_token"])).json()
        assert error_code(await refresh(c, first["refresh_token"])) == "refresh_token_reused"
        newer = await refresh(c, second["refresh_token"])
        assert newer.status_code == 401
        assert error_code(newer) == "refresh_token_invalidated"
        assert emulator.check_access_token(second["access_token"]) is None


async def test_expired_refresh_token(clock: ManualClock) -> None:
    emulator = Emulator(clock=clock, refresh_ttl=3600)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator), base_url=ISSUER) as c:
        tokens = await sign_in(c, emulator)
        clock.advance(3600)
        response = await refresh(c, tokens["refresh_token"])
        assert response.status_code == 401
        assert error_code(response) == "refresh_token_expired"
        assert emulator.stats.refresh_failures == ["refresh_token_expired"]


async def test_revoking_an_account_invalidates_its_tokens_only(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.add_account(account_id="acct-other", email="other@example.com")
    mine = await sign_in(client, emulator)
    other = await sign_in(client, emulator, account="acct-other")
    assert emulator.revoke_account(emulator.default_account.account_id) == 1
    assert emulator.check_access_token(mine["access_token"]) is None
    response = await refresh(client, mine["refresh_token"])
    assert response.status_code == 401
    assert error_code(response) == "refresh_token_invalidated"
    assert emulator.check_access_token(other["access_token"]) == emulator.account("acct-other")
    assert (await refresh(client, other["refresh_token"])).status_code == 200


async def test_oauth_style_rejection_knob_and_unknown_refresh_tokens(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    unknown = await refresh(client, "rt_never_issued")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_grant"
    emulator.knobs.refresh_rejection = "invalid_grant"
    first = await sign_in(client, emulator)
    await refresh(client, first["refresh_token"])
    reused = await refresh(client, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert emulator.stats.refresh_failures == ["invalid_grant", "refresh_token_reused"]


async def test_refresh_requires_the_client_id(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    tokens = await sign_in(client, emulator)
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert response.status_code == 400
    other = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "app_other",
        },
    )
    assert other.status_code == 401
    assert (await refresh(client, tokens["refresh_token"])).status_code == 200


async def test_access_tokens_expire_with_the_clock(clock: ManualClock) -> None:
    emulator = Emulator(clock=clock, access_ttl=60)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator), base_url=ISSUER) as c:
        tokens = await sign_in(c, emulator)
        assert tokens["expires_in"] == 60
        clock.advance(59)
        assert emulator.check_access_token(tokens["access_token"]) is not None
        clock.advance(1)
        assert emulator.check_access_token(tokens["access_token"]) is None
        assert emulator.check_access_token("not-a-token") is None
        assert emulator.check_access_token(tokens["id_token"]) is None


async def test_revoke_endpoint(client: httpx.AsyncClient, emulator: Emulator) -> None:
    tokens = await sign_in(client, emulator)
    body = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
    response = await client.post("/oauth/revoke", json={**body, "client_id": CLIENT_ID})
    assert (response.status_code, response.json()) == (200, {})
    assert error_code(await refresh(client, tokens["refresh_token"])) == "refresh_token_invalidated"
    assert emulator.check_access_token(tokens["access_token"]) is None
    assert (await client.post("/oauth/revoke", json={"token": "unknown"})).status_code == 200
    assert emulator.stats.revocations == 1


# The marker ----------------------------------------------------------------------------------


async def test_every_issued_token_carries_the_marker(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    first = await sign_in(client, emulator)
    second = (await refresh(client, first["refresh_token"])).json()
    third = (await refresh(client, second["refresh_token"])).json()
    issued = emulator.issued_tokens()
    answered = [
        t[k] for t in (first, second, third) for k in ("access_token", "id_token", "refresh_token")
    ]
    assert sorted(issued) == sorted(answered)
    assert len(set(issued)) == 9
    for token in issued:
        assert TOKEN_MARKER in token
    for tokens in (first, second, third):
        assert tokens["refresh_token"].startswith("rt_" + TOKEN_MARKER)
        for name in ("access_token", "id_token"):
            _, _, signature = segments(tokens[name])
            assert signature.startswith(TOKEN_MARKER)
            assert len(b64url_decode(signature)) > 32  # base64url text, like a signature


async def test_two_emulators_share_nothing(clock: ManualClock) -> None:
    one, two = Emulator(clock=clock), Emulator(clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=one), base_url=ISSUER) as c:
        tokens = await sign_in(c, one)
    assert one.check_access_token(tokens["access_token"]) is not None
    assert two.check_access_token(tokens["access_token"]) is None
    assert two.issued_tokens() == []
    assert two.stats.exchanges == 0


# The device page -----------------------------------------------------------------------------


async def test_device_page_is_an_accessible_form(client: httpx.AsyncClient) -> None:
    response = await client.get("/codex/device", params={"user_code": 'AB"><b>x'})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "form-action 'self'" in response.headers["content-security-policy"]
    page = response.text
    assert '<html lang="en">' in page
    assert '<form method="post" action="/codex/device">' in page
    assert '<label for="user_code">' in page
    assert '<label for="account">' in page
    assert 'value="approve">Approve</button>' in page
    assert 'value="deny">Deny</button>' in page
    assert "<b>x" not in page
    assert "AB&quot;&gt;&lt;b&gt;x" in page


async def test_device_page_approves_for_the_chosen_account(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.add_account(account_id="acct-team", email="team@example.com", plan="team")
    started = await start(client)
    form = {"user_code": started["user_code"], "account": "acct-team", "action": "approve"}
    response = await client.post("/codex/device", data=form)
    assert response.status_code == 200
    assert "Signed in" in response.text
    assert "team@example.com" in response.text
    tokens = (await exchange(client, (await poll(client, started)).json())).json()
    claims = segments(tokens["id_token"])[1][AUTH_CLAIM]
    assert (claims["chatgpt_account_id"], claims["chatgpt_plan_type"]) == ("acct-team", "team")


async def test_device_page_denies(client: httpx.AsyncClient) -> None:
    started = await start(client)
    form = {"user_code": started["user_code"], "action": "deny"}
    response = await client.post("/codex/device", data=form)
    assert response.status_code == 200
    assert "Sign-in denied" in response.text
    assert (await poll(client, started)).json()["error"]["code"] == "access_denied"


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"user_code": "<script>alert(1)</script>", "action": "approve"}, 400, "not valid"),
        ({"user_code": "", "action": "approve"}, 400, "Enter the code"),
        ({"user_code": "ABCD-EFGH2", "action": "maybe"}, 400, "Approve or Deny"),
        ({"user_code": "A" * 10_000, "action": "approve"}, 413, "larger than"),
    ],
)
async def test_device_page_errors_are_clear_and_escaped(
    client: httpx.AsyncClient, form: dict[str, str], status: int, message: str
) -> None:
    response = await client.post("/codex/device", data=form)
    assert response.status_code == status
    assert message in response.text
    assert 'role="alert"' in response.text
    assert "<script>" not in response.text


async def test_device_page_refuses_other_content_types_and_locked_accounts(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    as_json = await client.post("/codex/device", json={"user_code": "x", "action": "approve"})
    assert as_json.status_code == 415
    emulator.add_account(account_id="acct-locked", device_login_enabled=False)
    started = await start(client)
    form = {"user_code": started["user_code"], "account": "acct-locked", "action": "approve"}
    locked = await client.post("/codex/device", data=form)
    assert locked.status_code == 400
    assert "Enable device code authorization" in locked.text


def _mounted_with_starlette(emulator: Emulator) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=Starlette(routes=[Mount("/emulator", app=emulator)]))


def _mounted_with_root_path(emulator: Emulator) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=emulator, root_path="/emulator")


@pytest.mark.parametrize("transport", [_mounted_with_starlette, _mounted_with_root_path])
async def test_everything_works_under_a_mount_prefix(emulator: Emulator, transport: Any) -> None:
    base = f"{ISSUER}/emulator"
    async with httpx.AsyncClient(transport=transport(emulator), base_url=base) as c:
        started = await start(c)
        page = await c.get("/codex/device")
        assert '<form method="post" action="/emulator/codex/device">' in page.text
        form = {"user_code": started["user_code"], "action": "approve"}
        approved = await c.post("/codex/device", data=form)
        assert approved.status_code == 200
        assert "Signed in" in approved.text
        tokens = (await exchange(c, (await poll(c, started)).json())).json()
        assert emulator.check_access_token(tokens["access_token"]) is not None


# HTTP edges ----------------------------------------------------------------------------------


async def test_unknown_routes_methods_and_bodies_get_json_errors(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = await client.get("/oauth/token")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"
    broken = await client.post(
        "/api/accounts/deviceauth/usercode",
        content=b"{nope",
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "invalid_request"
    text = await client.post("/oauth/token", content=b"x", headers={"content-type": "text/plain"})
    assert text.status_code == 415
    repeated = await client.post("/oauth/token", content=b"grant_type=a&grant_type=b", headers=FORM)
    assert repeated.status_code == 400
    huge = await client.post("/oauth/token", content=b"a=" + b"x" * 70_000, headers=FORM)
    assert huge.status_code == 413


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(100.0)
    assert clock.now() == 100.0
    assert clock.advance(2.5) == 102.5
    clock.set(50)
    assert clock.now() == 50.0
    with pytest.raises(ValueError, match="non-negative"):
        clock.advance(-1)


@pytest.mark.parametrize("style", ["absent", "zero"])
async def test_token_answers_may_leave_the_lifetime_to_the_exp_claim(
    client: httpx.AsyncClient, emulator: Emulator, style: str
) -> None:
    emulator.knobs.expires_in = "absent" if style == "absent" else "zero"
    emulator.knobs.access_ttl = 600
    issued = await sign_in(client, emulator)
    assert issued.get("expires_in") == (None if style == "absent" else 0)
    assert segments(issued["access_token"])[1]["exp"] == int(START) + 600


async def test_revoke_endpoint_outage_knob(client: httpx.AsyncClient, emulator: Emulator) -> None:
    tokens = await sign_in(client, emulator)
    emulator.knobs.revoke_failure = "error"
    body = {"token": tokens["refresh_token"], "client_id": CLIENT_ID}
    assert (await client.post("/oauth/revoke", json=body)).status_code == 503
    assert emulator.check_access_token(tokens["access_token"]) is not None
    assert emulator.stats.revocations == 0
