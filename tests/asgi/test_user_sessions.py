"""One account, many devices: every sign-in is its own session, and a user's sessions can be
listed, labelled, ended one by one or all at once, never more than `max_sessions_per_user`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie

import httpx
import pytest

from authai_embed import InvalidRequest, Limits, SessionInfo, Unauthorized
from authai_embed.auth.account_sessions import TOUCH_INTERVAL
from authai_embed.testing import TOKEN_MARKER
from tests._support.harness import Harness, HarnessFactory

pytestmark = pytest.mark.anyio

CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hello"}]}
UNAUTHORIZED = b'{"error":"unauthorized"}'
NOT_FOUND = b'{"error":"session not found"}'
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
COOKIE = "__Host-authai_session"
SITE = "https://app.test"
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin", "Origin": SITE}
CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


async def status_of(harness: Harness, jwt: str) -> tuple[int, int]:
    """The statuses of whoami and of a chat completion with `jwt`."""
    who = await harness.client.get("/authai/auth/whoami", headers=bearer(jwt))
    chat = await harness.client.post("/authai/v1/chat/completions", json=CHAT, headers=bearer(jwt))
    return who.status_code, chat.status_code


async def sign_in_from(harness: Harness, user_agent: str, account: str | None = None) -> str:
    """A sign-in whose polls come from a browser with `user_agent`."""
    started = (await harness.client.post("/authai/auth/start", json={})).json()
    harness.approve("openai", started["userCode"], account)
    harness.clock.advance(started["pollIntervalMs"] / 1000)
    polled = await harness.client.get(
        f"/authai/auth/poll/{started['sessionId']}", headers={"User-Agent": user_agent}
    )
    jwt: str = polled.json()["jwt"]
    return jwt


async def listed(harness: Harness, jwt: str) -> list[dict[str, object]]:
    response = await harness.client.get("/authai/auth/sessions", headers=bearer(jwt))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    sessions: list[dict[str, object]] = response.json()["sessions"]
    return sessions


async def test_two_sign_ins_of_one_account_both_work_as_one_user(harness: Harness) -> None:
    laptop = await harness.sign_in()
    phone = await harness.sign_in()
    assert await status_of(harness, laptop) == (200, 200)
    assert await status_of(harness, phone) == (200, 200)
    ids = set()
    for jwt in (laptop, phone):
        who = await harness.client.get("/authai/auth/whoami", headers=bearer(jwt))
        ids.add(who.json()["user"]["id"])
    assert len(ids) == 1
    assert ids == {(await harness.authai.whoami(laptop)).user_id}


async def test_signing_out_one_session_leaves_the_other(harness: Harness) -> None:
    laptop = await harness.sign_in()
    phone = await harness.sign_in()
    revoked = await harness.client.post("/authai/auth/revoke", headers=bearer(phone))
    assert revoked.status_code == 204
    assert await status_of(harness, laptop) == (200, 200)
    assert (await harness.client.get("/authai/auth/whoami", headers=bearer(phone))).content == (
        UNAUTHORIZED
    )


async def test_revoke_all_ends_every_session_of_the_user_and_only_theirs(
    harness: Harness,
) -> None:
    laptop = await harness.sign_in()
    phone = await harness.sign_in()
    harness.emulator.add_account(account_id="acct-other", email="other@example.com")
    other = await harness.sign_in(account="acct-other")
    ended = await harness.client.post("/authai/auth/revoke-all", headers=bearer(phone))
    assert ended.status_code == 204
    assert ended.content == b""
    for jwt in (laptop, phone):
        who = await harness.client.get("/authai/auth/whoami", headers=bearer(jwt))
        assert (who.status_code, who.content) == (401, UNAUTHORIZED)
    assert await status_of(harness, other) == (200, 200)
    again = await harness.client.post("/authai/auth/revoke-all", headers=bearer(phone))
    assert (again.status_code, again.content) == (401, UNAUTHORIZED)


async def test_authai_revoke_all_ends_the_users_sessions(harness: Harness) -> None:
    first, second = await harness.sign_in(), await harness.sign_in()
    user = (await harness.authai.whoami(first)).user_id
    assert await harness.authai.revoke_all(user) == 2
    for jwt in (first, second):
        with pytest.raises(Unauthorized):
            await harness.authai.whoami(jwt)
    assert await harness.authai.list_sessions(user) == []
    assert await harness.authai.revoke_all(user) == 0


async def test_the_eleventh_sign_in_ends_the_first(
    make_harness: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    harness = await make_harness(limits=Limits(auth_start=None))
    caplog.set_level(logging.INFO, logger="authai_embed")
    jwts = [await harness.sign_in() for _ in range(10)]
    user = (await harness.authai.whoami(jwts[0])).user_id
    assert len(await harness.authai.list_sessions(user)) == 10
    first_id = (await listed(harness, jwts[0]))[0]["id"]
    caplog.clear()
    eleventh = await harness.sign_in()
    assert (
        await harness.client.get("/authai/auth/whoami", headers=bearer(jwts[0]))
    ).status_code == (401)
    for jwt in [*jwts[1:], eleventh]:
        assert (
            await harness.client.get("/authai/auth/whoami", headers=bearer(jwt))
        ).status_code == (200)
    assert len(await harness.authai.list_sessions(user)) == 10
    ended = [r for r in caplog.records if "session ended" in r.getMessage()]
    assert [r.levelno for r in ended] == [logging.INFO]
    assert ended[0].getMessage() == (
        f"session ended reason=session_limit provider=openai session={first_id}"
    )
    assert TOKEN_MARKER not in caplog.text
    assert jwts[0] not in caplog.text


async def test_max_sessions_per_user_is_a_setting(make_harness: HarnessFactory) -> None:
    harness = await make_harness(max_sessions_per_user=2)
    first, second, third = [await harness.sign_in() for _ in range(3)]
    assert (await harness.client.get("/authai/auth/whoami", headers=bearer(first))).status_code == (
        401
    )
    assert await status_of(harness, second) == (200, 200)
    assert await status_of(harness, third) == (200, 200)
    # Other users are counted apart.
    harness.emulator.add_account(account_id="acct-other", email="other@example.com")
    other = await harness.sign_in(account="acct-other")
    assert await status_of(harness, second) == (200, 200)
    assert await status_of(harness, other) == (200, 200)


async def test_sessions_past_their_jwt_lifetime_are_not_listed_or_counted(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(max_sessions_per_user=2, token_ttl=3600)
    old = await harness.sign_in()
    user = (await harness.authai.whoami(old)).user_id
    harness.clock.advance(3600 + 31)  # past the JWT's lifetime and the leeway
    assert await harness.authai.list_sessions(user) == []
    first, second = await harness.sign_in(), await harness.sign_in()
    # The expired session took no place: both new ones live.
    assert await status_of(harness, first) == (200, 200)
    assert await status_of(harness, second) == (200, 200)
    assert len(await harness.authai.list_sessions(user)) == 2


async def test_the_session_list_shows_the_callers_sessions_labelled_by_browser(
    harness: Harness,
) -> None:
    laptop = await sign_in_from(harness, FIREFOX)
    harness.clock.advance(30)
    phone = await sign_in_from(harness, IPHONE)
    sessions = await listed(harness, phone)
    assert [s["label"] for s in sessions] == ["Firefox on Linux", "Safari on iOS"]
    assert [s["current"] for s in sessions] == [False, True]
    assert [s["provider"] for s in sessions] == ["openai", "openai"]
    assert set(sessions[0]) == {"id", "provider", "created", "lastUsed", "label", "current"}
    created = [s["created"] for s in sessions]
    assert isinstance(created[0], int)
    assert isinstance(created[1], int)
    assert created[1] > created[0]
    assert [s["current"] for s in await listed(harness, laptop)] == [True, False]


async def test_session_ids_are_opaque(harness: Harness) -> None:
    jwt = await harness.sign_in()
    session = await harness.authai.sessions.open_session(jwt)
    [info] = await listed(harness, jwt)
    session_id = str(info["id"])
    assert len(session_id) >= 22
    assert session_id != session.record.id
    assert session_id not in jwt
    assert session.record.id not in str(info)
    key_text = str(session.claims.key)
    assert key_text not in str(info)


async def test_a_session_is_ended_by_its_id_and_others_stay(harness: Harness) -> None:
    laptop = await harness.sign_in()
    phone = await harness.sign_in()
    sessions = await listed(harness, laptop)
    phone_id = next(s["id"] for s in sessions if not s["current"])
    ended = await harness.client.delete(f"/authai/auth/sessions/{phone_id}", headers=bearer(laptop))
    assert (ended.status_code, ended.content) == (204, b"")
    assert (await harness.client.get("/authai/auth/whoami", headers=bearer(phone))).status_code == (
        401
    )
    assert await status_of(harness, laptop) == (200, 200)
    again = await harness.client.delete(f"/authai/auth/sessions/{phone_id}", headers=bearer(laptop))
    assert (again.status_code, again.content) == (404, NOT_FOUND)


async def test_ending_ones_own_session_by_id_signs_it_out(harness: Harness) -> None:
    jwt = await harness.sign_in()
    [mine] = await listed(harness, jwt)
    ended = await harness.client.delete(f"/authai/auth/sessions/{mine['id']}", headers=bearer(jwt))
    assert ended.status_code == 204
    assert (await harness.client.get("/authai/auth/whoami", headers=bearer(jwt))).status_code == 401


async def test_a_user_cannot_list_or_end_another_users_sessions(harness: Harness) -> None:
    alice = await harness.sign_in()
    harness.emulator.add_account(account_id="acct-bob", email="bob@example.com")
    bob = await harness.sign_in(account="acct-bob")
    [bobs] = await listed(harness, bob)
    alices = await listed(harness, alice)
    assert [s["id"] for s in alices] != [bobs["id"]]
    assert bobs["id"] not in {s["id"] for s in alices}

    by_alice = await harness.client.delete(
        f"/authai/auth/sessions/{bobs['id']}", headers=bearer(alice)
    )
    missing = await harness.client.delete("/authai/auth/sessions/no-such-id", headers=bearer(alice))
    assert (by_alice.status_code, by_alice.content) == (missing.status_code, missing.content)
    assert (by_alice.status_code, by_alice.content) == (404, NOT_FOUND)
    assert await status_of(harness, bob) == (200, 200)

    alice_id = (await harness.authai.whoami(alice)).user_id
    bob_id = (await harness.authai.whoami(bob)).user_id
    assert await harness.authai.end_session(alice_id, str(bobs["id"])) is False
    assert await harness.authai.label_session(alice_id, str(bobs["id"]), "mine now") is False
    assert [s.session_id for s in await harness.authai.list_sessions(bob_id)] == [bobs["id"]]
    assert await status_of(harness, bob) == (200, 200)


async def test_session_routes_without_a_valid_session_are_the_uniform_401(
    harness: Harness,
) -> None:
    for method, path in (
        ("GET", "/authai/auth/sessions"),
        ("DELETE", "/authai/auth/sessions/anything"),
        ("POST", "/authai/auth/revoke-all"),
    ):
        for headers in ({}, bearer("not.a.jwt")):
            answer = await harness.client.request(method, path, headers=headers)
            assert (answer.status_code, answer.content) == (401, UNAUTHORIZED), (method, path)


async def test_hosts_list_label_and_end_sessions_by_user_id(harness: Harness) -> None:
    first, second = await harness.sign_in(), await harness.sign_in()
    user = (await harness.authai.whoami(first)).user_id
    sessions = await harness.authai.list_sessions(user)
    assert [type(s) for s in sessions] == [SessionInfo, SessionInfo]
    assert not any(s.current for s in sessions)
    assert await harness.authai.label_session(user, sessions[0].session_id, "  Work laptop ")
    assert [s.label for s in await harness.authai.list_sessions(user)] == ["Work laptop", None]
    assert await harness.authai.label_session(user, sessions[0].session_id, None)
    assert [s.label for s in await harness.authai.list_sessions(user)] == [None, None]
    for bad in ("x" * 101, "tab\there"):
        with pytest.raises(InvalidRequest, match="label"):
            await harness.authai.label_session(user, sessions[0].session_id, bad)
    assert await harness.authai.end_session(user, sessions[0].session_id) is True
    assert await harness.authai.end_session(user, sessions[0].session_id) is False
    with pytest.raises(Unauthorized):
        await harness.authai.whoami(first)
    assert (await harness.authai.whoami(second)).user_id == user


async def test_last_use_is_noted_at_most_once_a_minute(harness: Harness) -> None:
    jwt = await harness.sign_in()
    user = (await harness.authai.whoami(jwt)).user_id
    [fresh] = await harness.authai.list_sessions(user)
    assert fresh.last_used_at is None
    harness.clock.advance(TOUCH_INTERVAL)
    used_at = harness.clock.now()
    assert await status_of(harness, jwt) == (200, 200)
    [used] = await harness.authai.list_sessions(user)
    assert used.last_used_at == used_at
    harness.clock.advance(TOUCH_INTERVAL / 2)
    await status_of(harness, jwt)
    [same] = await harness.authai.list_sessions(user)
    assert same.last_used_at == used_at


# -- cookie mode ------------------------------------------------------------------------------


@pytest.fixture
async def cookie_harness(
    make_harness: HarnessFactory,
) -> AsyncIterator[tuple[Harness, httpx.AsyncClient]]:
    harness = await make_harness(session_cookie=True)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.app), base_url=SITE)
    yield harness, client
    await client.aclose()


async def cookie_sign_in(harness: Harness, client: httpx.AsyncClient) -> str:
    started = (await client.post("/authai/auth/start", json={}, headers=SAME_ORIGIN)).json()
    harness.emulator.approve(started["userCode"])
    harness.clock.advance(started["pollIntervalMs"] / 1000)
    polled = await client.get(f"/authai/auth/poll/{started['sessionId']}", headers=SAME_ORIGIN)
    client.cookies.clear()
    cookies = SimpleCookie()
    for value in polled.headers.get_list("set-cookie"):
        cookies.load(value)
    return cookies[COOKIE].value


def cookie(jwt: str, extra: dict[str, str]) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={jwt}", **extra}


async def test_cookie_mode_session_controls_are_csrf_checked(
    cookie_harness: tuple[Harness, httpx.AsyncClient],
) -> None:
    harness, client = cookie_harness
    laptop = await cookie_sign_in(harness, client)
    phone = await cookie_sign_in(harness, client)
    listing = await client.get("/authai/auth/sessions", headers=cookie(laptop, SAME_ORIGIN))
    phone_id = next(s["id"] for s in listing.json()["sessions"] if not s["current"])

    for method, path in (
        ("DELETE", f"/authai/auth/sessions/{phone_id}"),
        ("POST", "/authai/auth/revoke-all"),
    ):
        refused = await client.request(method, path, headers=cookie(laptop, CROSS_SITE))
        assert (refused.status_code, refused.content) == (403, b'{"error":"forbidden"}')
    assert (await harness.authai.whoami(phone)).provider == "openai"

    ended = await client.delete(
        f"/authai/auth/sessions/{phone_id}", headers=cookie(laptop, SAME_ORIGIN)
    )
    assert ended.status_code == 204
    assert "set-cookie" not in ended.headers  # another session ended: this cookie stays
    with pytest.raises(Unauthorized):
        await harness.authai.whoami(phone)

    third = await cookie_sign_in(harness, client)
    listing = await client.get("/authai/auth/sessions", headers=cookie(third, SAME_ORIGIN))
    [third_id] = [s["id"] for s in listing.json()["sessions"] if s["current"]]
    own = await client.delete(
        f"/authai/auth/sessions/{third_id}", headers=cookie(third, SAME_ORIGIN)
    )
    assert own.status_code == 204
    assert f"{COOKIE}=; Max-Age=0" in own.headers["set-cookie"]  # its own session: signed out
    with pytest.raises(Unauthorized):
        await harness.authai.whoami(third)

    everywhere = await client.post("/authai/auth/revoke-all", headers=cookie(laptop, SAME_ORIGIN))
    assert everywhere.status_code == 204
    assert f"{COOKIE}=; Max-Age=0" in everywhere.headers["set-cookie"]
    with pytest.raises(Unauthorized):
        await harness.authai.whoami(laptop)
    dead = await client.post("/authai/auth/revoke-all", headers=cookie(laptop, SAME_ORIGIN))
    assert (dead.status_code, dead.content) == (401, UNAUTHORIZED)
    assert f"{COOKIE}=; Max-Age=0" in dead.headers["set-cookie"]
