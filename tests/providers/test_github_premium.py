"""Copilot premium requests per account: user turns on premium models, weighted by their
multiplier, counted per month (UTC), with the quota Copilot reports on its answers."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from authai_embed.providers.github.backend import CopilotBackend
from authai_embed.providers.github.catalog import parse_catalog
from authai_embed.providers.github.premium import PremiumRequests, PremiumUsage, quota_of
from authai_embed.testing import ManualClock
from tests._support.harness import START, Harness

pytestmark = pytest.mark.anyio

TOOL_TURN: list[dict[str, object]] = [
    {"role": "user", "content": "weather?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
]


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


def backend_of(harness: Harness) -> CopilotBackend:
    backend = harness.authai.providers["github"].backend
    assert isinstance(backend, CopilotBackend)
    return backend


async def account_of(harness: Harness, jwt: str) -> str:
    return (await harness.authai.sessions.open_session(jwt)).credentials.account_id


async def chat(
    harness: Harness, jwt: str, model: str, messages: list[dict[str, object]] | None = None
) -> httpx.Response:
    body = {"model": model, "messages": messages or [{"role": "user", "content": "hi"}]}
    answer = await harness.client.post(
        "/authai/v1/chat/completions", json=body, headers=bearer(jwt)
    )
    return answer


def next_month_start(now: float) -> float:
    day = dt.datetime.fromtimestamp(now, dt.UTC)
    first = dt.datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=dt.UTC)
    return first.timestamp()


async def test_user_turns_on_premium_models_are_counted_per_account(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="github")
    account = await account_of(harness, jwt)
    backend = backend_of(harness)
    month = dt.datetime.fromtimestamp(START, dt.UTC).strftime("%Y-%m")
    assert backend.premium_requests(account) == PremiumUsage(month)
    for _ in range(2):
        assert (await chat(harness, jwt, "gpt-5.4")).status_code == 200
    assert (await chat(harness, jwt, "gpt-5.4", TOOL_TURN)).status_code == 200  # agent turn
    assert (await chat(harness, jwt, "gpt-4.1")).status_code == 200  # the base model
    usage = backend.premium_requests(account)
    assert (usage.requests, usage.used) == (2, 2.0)
    # What Copilot reported on its answers: the plan's 300 a month, 2 of them spent.
    assert usage.allowed == 300
    assert usage.unlimited is False
    assert usage.remaining_percent == pytest.approx(99.3)
    assert usage.resets_at == next_month_start(harness.clock.now())

    harness.emulator.github.add_user("hubot")
    other = await harness.sign_in(provider="github", account="hubot")
    assert (await chat(harness, other, "claude-sonnet-4.5")).status_code == 200
    assert backend.premium_requests(await account_of(harness, other)).requests == 1
    assert backend.premium_requests(account).requests == 2


async def test_the_multiplier_weighs_each_turn_and_agrees_with_copilot(harness: Harness) -> None:
    for entry in harness.emulator.github.model.catalog:
        if entry["id"] == "claude-sonnet-4.5":
            entry["billing"] = {"is_premium": True, "multiplier": 0.33}
    jwt = await harness.sign_in(provider="github")
    for _ in range(3):
        assert (await chat(harness, jwt, "claude-sonnet-4.5")).status_code == 200
    usage = backend_of(harness).premium_requests(await account_of(harness, jwt))
    assert usage.requests == 3
    assert usage.used == pytest.approx(0.99)
    assert harness.emulator.github.api.premium_used == {"octocat-emu": pytest.approx(0.99)}


async def test_a_refused_call_costs_nothing_and_a_retried_one_costs_once(
    harness: Harness,
) -> None:
    jwt = await harness.sign_in(provider="github")
    account = await account_of(harness, jwt)
    harness.emulator.github.model.knobs.usage_limit_reached = True
    assert (await chat(harness, jwt, "gpt-5.4")).status_code == 429
    assert backend_of(harness).premium_requests(account).requests == 0
    harness.emulator.github.model.knobs.usage_limit_reached = False
    harness.emulator.github.knobs.unsupported_api["gpt-5.4"] = ("/chat/completions",)
    assert (await chat(harness, jwt, "gpt-5.4")).status_code == 200  # chat, then /responses
    assert backend_of(harness).premium_requests(account).requests == 1


async def test_counters_start_again_each_month(harness: Harness) -> None:
    jwt = await harness.sign_in(provider="github")
    account = await account_of(harness, jwt)
    assert (await chat(harness, jwt, "gpt-5.4")).status_code == 200
    before = backend_of(harness).premium_requests(account)
    assert before.requests == 1
    harness.clock.advance(next_month_start(harness.clock.now()) - harness.clock.now())
    after = backend_of(harness).premium_requests(account)
    assert after == PremiumUsage(after.month)
    assert after.month != before.month


@pytest.mark.parametrize(
    ("entitlement", "allowed", "unlimited"), [(-1, None, True), (None, None, False)]
)
async def test_an_unlimited_or_unreported_quota_has_no_allowance(
    harness: Harness, entitlement: int | None, allowed: float | None, unlimited: bool
) -> None:
    harness.emulator.github.knobs.premium_entitlement = entitlement
    jwt = await harness.sign_in(provider="github")
    assert (await chat(harness, jwt, "gpt-5.4")).status_code == 200
    usage = backend_of(harness).premium_requests(await account_of(harness, jwt))
    assert (usage.requests, usage.allowed, usage.unlimited) == (1, allowed, unlimited)


def test_the_tracked_accounts_are_bounded_least_recently_active_first() -> None:
    premium = PremiumRequests(ManualClock(START), limit=2)
    premium.count("a", 1.0)
    premium.count("b", 1.0)
    premium.count("a", 1.0)  # "b" is now the least recently active
    premium.count("c", 1.0)
    assert premium.snapshot("a").requests == 2
    assert premium.snapshot("c").requests == 1
    assert premium.snapshot("b").requests == 0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "ent=300&ov=0.0&ovPerm=false&rem=95.5&rst=2027-02-01T00%3A00%3A00Z",
            (300.0, False, 95.5, dt.datetime(2027, 2, 1, tzinfo=dt.UTC).timestamp()),
        ),
        ("ent=1500;rem=60", (1500.0, False, 60.0, None)),
        ("ent=-1&rem=100.0", (None, True, 100.0, None)),
        ("ent=300&rem=250&rst=soon", (300.0, False, 100.0, None)),
        ("ent=nan&rem=inf", None),
        ("nothing=here", None),
        ("ent=" + "9" * 2000, None),
    ],
)
def test_the_quota_header_is_read_leniently(
    header: str, expected: tuple[float | None, bool, float | None, float | None] | None
) -> None:
    quota = quota_of(httpx.Headers({"x-quota-snapshot-premium_interactions": header}))
    got = None if quota is None else (quota.allowed, quota.unlimited, quota.remaining_percent)
    assert got == (None if expected is None else expected[:3])
    if quota is not None and expected is not None:
        assert quota.resets_at == expected[3]


def test_catalog_billing_gives_each_model_its_cost() -> None:
    catalog = parse_catalog(
        [
            {"id": "p", "supported_endpoints": [], "billing": {"is_premium": True}},
            {"id": "w", "billing": {"is_premium": True, "multiplier": 10}},
            {"id": "f", "billing": {"is_premium": False, "multiplier": 0}},
            {"id": "odd", "billing": {"is_premium": True, "multiplier": "lots"}},
            {"id": "plain"},
            {"id": "embed", "supported_endpoints": ["/embeddings"]},
        ]
    )
    costs = {name: (m.premium, m.multiplier) for name, m in catalog.items()}
    assert costs == {
        "p": (True, 1.0),
        "w": (True, 10.0),
        "f": (False, 0.0),
        "odd": (True, 1.0),
        "plain": (False, 0.0),
    }
