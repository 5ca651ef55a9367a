"""Plan limits per user (`AuthAI.limits`, `GET /auth/limits`): what each provider reports,
fresh within `limits_max_age`, asked once per user at a time, never another user's."""

from __future__ import annotations

import datetime as dt

import anyio
import pytest

from authai_embed import PlanLimits, PlanWindow, Unauthorized
from authai_embed.auth.plan_limits import PlanLimitsCache
from authai_embed.testing import TOKEN_MARKER
from authai_embed.testing.codex.backend import USAGE_PATH
from tests._support.harness import Harness, HarnessFactory

pytestmark = pytest.mark.anyio

UNAUTHORIZED = b'{"error":"unauthorized"}'
CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hello"}]}


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


def usage_reads(harness: Harness) -> int:
    return sum(1 for r in harness.emulator.codex.requests if r.path == USAGE_PATH)


def window(limits: PlanLimits, name: str) -> PlanWindow:
    return next(w for w in limits.windows if w.name == name)


async def chat(harness: Harness, jwt: str) -> int:
    response = await harness.client.post(
        "/authai/v1/chat/completions", json=CHAT, headers=bearer(jwt)
    )
    return response.status_code


def next_month_start(now: float) -> int:
    day = dt.datetime.fromtimestamp(now, dt.UTC)
    first = dt.datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=dt.UTC)
    return int(first.timestamp())


async def test_chatgpt_limits_come_from_the_usage_endpoint(harness: Harness) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.knobs.credits_has_credits = True
    harness.emulator.codex.knobs.credits_balance = "5.39"
    now = int(harness.clock.now())
    limits = await harness.authai.limits(jwt)
    assert (limits.provider, limits.plan, limits.source) == ("openai", "plus", "usage_endpoint")
    assert limits.windows == (
        PlanWindow("primary", 12.0, 300, now + 3 * 3600),
        PlanWindow("secondary", 4.0, 7 * 24 * 60, now + 4 * 24 * 3600),
    )
    assert limits.credits is not None
    assert limits.credits.balance == "5.39"
    assert limits.premium_requests is None
    assert limits.fetched_at == harness.clock.now()
    assert usage_reads(harness) == 1
    sent = harness.emulator.codex.last_request(USAGE_PATH)
    assert sent.headers["chatgpt-account-id"] == harness.emulator.default_account.account_id


async def test_the_route_answers_the_same_in_camel_case(harness: Harness) -> None:
    jwt = await harness.sign_in()
    response = await harness.client.get("/authai/auth/limits", headers=bearer(jwt))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    now = int(harness.clock.now())
    assert body["provider"] == "openai"
    assert body["plan"] == "plus"
    assert body["source"] == "usage_endpoint"
    assert body["fetchedAt"] == now
    assert body["windows"][0] == {
        "name": "primary",
        "usedPercent": 12.0,
        "windowMinutes": 300,
        "resetsAt": now + 3 * 3600,
        "limitReached": False,
        "entitlement": None,
        "remaining": None,
        "unlimited": False,
    }
    assert body["credits"] == {"hasCredits": False, "unlimited": False, "balance": None}
    assert body["premiumRequests"] is None


async def test_limits_are_asked_again_only_once_stale(harness: Harness) -> None:
    jwt = await harness.sign_in()
    await harness.authai.limits(jwt)
    harness.clock.advance(59)
    await harness.authai.limits(jwt)
    assert usage_reads(harness) == 1
    harness.emulator.codex.knobs.primary_used_percent = 40.0
    harness.clock.advance(2)
    limits = await harness.authai.limits(jwt)
    assert usage_reads(harness) == 2
    assert window(limits, "primary").used_percent == 40.0


async def test_max_age_is_a_setting(make_harness: HarnessFactory) -> None:
    harness = await make_harness(limits_max_age=5)
    jwt = await harness.sign_in()
    await harness.authai.limits(jwt)
    harness.clock.advance(6)
    await harness.authai.limits(jwt)
    assert usage_reads(harness) == 2


async def test_model_answers_refresh_the_limits_for_free(harness: Harness) -> None:
    jwt = await harness.sign_in()
    harness.emulator.codex.knobs.primary_used_percent = 33.0
    assert await chat(harness, jwt) == 200
    limits = await harness.authai.limits(jwt)
    assert usage_reads(harness) == 0
    assert limits.source == "response_headers"
    assert limits.plan == "plus"
    assert window(limits, "primary").used_percent == 33.0
    harness.clock.advance(61)  # no model call since: the endpoint is asked
    assert (await harness.authai.limits(jwt)).source == "usage_endpoint"
    assert usage_reads(harness) == 1


async def test_concurrent_askers_make_one_upstream_request(harness: Harness) -> None:
    jwt = await harness.sign_in()
    answers: list[PlanLimits] = []

    async def ask() -> None:
        answers.append(await harness.authai.limits(jwt))

    async with anyio.create_task_group() as tasks:
        for _ in range(8):
            tasks.start_soon(ask)
    assert usage_reads(harness) == 1
    assert len(answers) == 8
    assert all(a == answers[0] for a in answers)


async def test_every_session_of_a_user_sees_the_same_limits(harness: Harness) -> None:
    first = await harness.sign_in()
    second = await harness.sign_in()
    assert first != second
    a = await harness.client.get("/authai/auth/limits", headers=bearer(first))
    b = await harness.client.get("/authai/auth/limits", headers=bearer(second))
    assert a.json() == b.json()
    assert usage_reads(harness) == 1


async def test_a_user_never_sees_another_users_limits(harness: Harness) -> None:
    harness.emulator.add_account("acct-alice", plan="pro")
    harness.emulator.add_account("acct-bob", plan="plus")
    harness.emulator.codex.set_usage("acct-alice", primary=71.0, secondary=20.0)
    harness.emulator.codex.set_usage("acct-bob", primary=3.0, secondary=1.0)
    alice = await harness.sign_in(account="acct-alice")
    bob = await harness.sign_in(account="acct-bob")
    a = (await harness.client.get("/authai/auth/limits", headers=bearer(alice))).json()
    b = (await harness.client.get("/authai/auth/limits", headers=bearer(bob))).json()
    assert (a["plan"], a["windows"][0]["usedPercent"], a["windows"][1]["usedPercent"]) == (
        "pro",
        71.0,
        20.0,
    )
    assert (b["plan"], b["windows"][0]["usedPercent"], b["windows"][1]["usedPercent"]) == (
        "plus",
        3.0,
        1.0,
    )
    # Bob's model answer refreshes Bob's limits only.
    assert await chat(harness, bob) == 200
    again = (await harness.client.get("/authai/auth/limits", headers=bearer(alice))).json()
    assert again == a


async def test_the_answer_carries_no_token(harness: Harness) -> None:
    jwt = await harness.sign_in()
    response = await harness.client.get("/authai/auth/limits", headers=bearer(jwt))
    assert response.status_code == 200
    assert TOKEN_MARKER not in response.text
    assert jwt not in response.text
    for token in harness.emulator.issued_tokens():
        assert token not in response.text


async def test_without_a_session_the_answer_is_the_uniform_401(harness: Harness) -> None:
    jwt = await harness.sign_in()
    for headers in ({}, bearer("nope"), bearer(jwt + "x")):
        response = await harness.client.get("/authai/auth/limits", headers=headers)
        assert (response.status_code, response.content) == (401, UNAUTHORIZED)
    await harness.client.post("/authai/auth/revoke", headers=bearer(jwt))
    response = await harness.client.get("/authai/auth/limits", headers=bearer(jwt))
    assert (response.status_code, response.content) == (401, UNAUTHORIZED)
    with pytest.raises(Unauthorized):
        await harness.authai.limits(None)
    assert usage_reads(harness) == 0


@pytest.mark.parametrize("headers", [True, False])
async def test_a_usage_limit_refusal_updates_the_limits(harness: Harness, headers: bool) -> None:
    jwt = await harness.sign_in()
    await harness.authai.limits(jwt)
    knobs = harness.emulator.codex.knobs
    knobs.rate_limit_headers = headers  # off: only the refusal's body says when it resets
    knobs.usage_limit_reached = True
    knobs.usage_limit_resets_in = 1800
    harness.clock.advance(10)
    assert await chat(harness, jwt) == 429
    limits = await harness.authai.limits(jwt)
    assert usage_reads(harness) == 1  # the refusal said it: nothing asked
    assert limits.source == "usage_limit"
    primary = window(limits, "primary")
    assert primary.limit_reached
    assert primary.resets_at == int(harness.clock.now()) + 1800
    assert limits.fetched_at == harness.clock.now()


async def test_a_usage_limit_inside_a_stream_shows_as_reached(harness: Harness) -> None:
    jwt = await harness.sign_in()
    knobs = harness.emulator.codex.knobs
    knobs.usage_limit_reached = True
    knobs.usage_limit_shape = "stream"
    knobs.usage_limit_resets_in = 900
    assert await chat(harness, jwt) == 429
    limits = await harness.authai.limits(jwt)
    assert usage_reads(harness) == 0
    primary = window(limits, "primary")
    assert primary.limit_reached
    assert primary.resets_at == int(harness.clock.now()) + 900


async def test_a_refused_access_token_is_refreshed_and_asked_again(harness: Harness) -> None:
    jwt = await harness.sign_in()
    access = (await harness.authai.sessions.open_session(jwt)).credentials.access
    assert harness.emulator.revoke_token(access)
    limits = await harness.authai.limits(jwt)
    assert limits.source == "usage_endpoint"
    assert [r.status for r in harness.emulator.codex.requests if r.path == USAGE_PATH] == [401, 200]
    fresh = (await harness.authai.sessions.open_session(jwt)).credentials.access
    assert fresh != access


async def test_a_token_the_provider_refuses_for_good_is_unauthorized(harness: Harness) -> None:
    jwt = await harness.sign_in()
    harness.emulator.revoke_account(harness.emulator.default_account.account_id)
    with pytest.raises(Unauthorized):
        await harness.authai.limits(jwt)


async def test_copilot_reports_its_quotas_and_premium_requests(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="github")
    for _ in range(2):
        assert await chat(harness, jwt) == 200  # gpt-5.4 is premium (x1) on Copilot
    limits = await harness.authai.limits(jwt)
    assert (limits.provider, limits.plan, limits.source) == (
        "github",
        "individual",
        "usage_endpoint",
    )
    reset = next_month_start(harness.clock.now())
    assert [w.name for w in limits.windows] == ["chat", "completions", "premium_interactions"]
    assert window(limits, "chat") == PlanWindow("chat", None, None, reset, unlimited=True)
    premium = window(limits, "premium_interactions")
    assert (premium.entitlement, premium.remaining, premium.resets_at) == (300, 298, reset)
    assert premium.used_percent == pytest.approx(0.7)
    quota = limits.premium_requests
    assert quota is not None
    assert (quota.allowed, quota.remaining, quota.unlimited) == (300, 298, False)
    assert (quota.used_here, quota.requests_here) == (2.0, 2)
    assert harness.emulator.github.stats.quota_lookups == 1
    # This app's own count stays current while the fetched figures are fresh.
    assert await chat(harness, jwt) == 200
    again = await harness.authai.limits(jwt)
    assert again.premium_requests is not None
    assert again.premium_requests.requests_here == 3
    assert harness.emulator.github.stats.quota_lookups == 1


async def test_copilot_users_see_their_own_quota(harness: Harness) -> None:
    harness.emulator.github.add_user("hubot", plan="business")
    harness.emulator.github.api.premium_used.update({"octocat-emu": 30.0, "hubot": 150.0})
    octo = await harness.sign_in(provider="github")
    hubot = await harness.sign_in(provider="github", account="hubot")
    mine = (await harness.client.get("/authai/auth/limits", headers=bearer(octo))).json()
    theirs = (await harness.client.get("/authai/auth/limits", headers=bearer(hubot))).json()
    assert (mine["plan"], mine["premiumRequests"]["remaining"]) == ("individual", 270)
    assert (theirs["plan"], theirs["premiumRequests"]["remaining"]) == ("business", 150)


async def test_xai_reports_nothing(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="xai")
    limits = await harness.authai.limits(jwt)
    assert (limits.provider, limits.source, limits.reported) == ("xai", "not_reported", False)
    assert limits.windows == ()
    assert limits.credits is None
    assert limits.plan is None
    body = (await harness.client.get("/authai/auth/limits", headers=bearer(jwt))).json()
    assert body["source"] == "not_reported"
    assert body["windows"] == []


async def test_memory_is_bounded_to_the_most_recent_users(harness: Harness) -> None:
    cache = PlanLimitsCache(
        harness.authai.sessions, harness.authai.providers, harness.clock, max_age=60, limit=2
    )
    jwts = []
    for name in ("acct-1", "acct-2", "acct-3"):
        harness.emulator.add_account(name)
        jwts.append(await harness.sign_in(account=name))
    for jwt in jwts:
        await cache.of(await harness.authai.sessions.open_session(jwt))
    assert len(cache) == 2
    assert usage_reads(harness) == 3
    await cache.of(await harness.authai.sessions.open_session(jwts[2]))  # still known
    assert usage_reads(harness) == 3
    await cache.of(await harness.authai.sessions.open_session(jwts[0]))  # forgotten: asked
    assert usage_reads(harness) == 4
