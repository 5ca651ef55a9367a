"""Cookie mode: the session in an HttpOnly, Secure, SameSite=Strict cookie, never in a body;
cookie-authenticated state changes refused when cross-site; revoke clears the cookie."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from http.cookies import SimpleCookie

import httpx
import pytest
from fastapi import HTTPException, Request
from openai.types.chat import ChatCompletionMessageParam

from authai_embed import AuthAI, Settings
from authai_embed.asgi.csrf import is_same_origin_or_allowed
from authai_embed.testing import TOKEN_MARKER
from tests._support.harness import Harness, HarnessFactory

pytestmark = pytest.mark.anyio

COOKIE = "__Host-authai_session"
SITE = "https://app.test"
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin", "Origin": SITE}
CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}
FOREIGN_ORIGIN = {"Origin": "https://evil.test"}  # a browser without Fetch Metadata
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
CHAT = {"model": "gpt-5.4", "messages": MESSAGES}
AUTH_FORBIDDEN = b'{"error":"forbidden"}'
V1_FORBIDDEN = b'{"error":{"message":"forbidden","type":"forbidden"}}'
AUTH_UNAUTHORIZED = b'{"error":{"message":"unauthorized","type":"invalid_request_error"}}'


@dataclass
class Browser:
    """An https client on the host app that sends the session cookie it was given by hand
    (an explicit header, so each test says exactly what a request carries)."""

    harness: Harness
    client: httpx.AsyncClient

    async def sign_in(self, account: str | None = None) -> httpx.Response:
        started = await self.client.post(
            "/authai/auth/start", json={"provider": "openai"}, headers=SAME_ORIGIN
        )
        assert started.status_code == 200, started.text
        body = started.json()
        self.harness.emulator.approve(body["userCode"], account=account)
        self.harness.clock.advance(body["pollIntervalMs"] / 1000)
        polled = await self.client.get(
            f"/authai/auth/poll/{body['sessionId']}", headers={"Sec-Fetch-Site": "same-origin"}
        )
        self.client.cookies.clear()  # tests send the cookie explicitly, or not at all
        return polled


def session_cookie(response: httpx.Response) -> SimpleCookie:
    cookies = SimpleCookie()
    for value in response.headers.get_list("set-cookie"):
        cookies.load(value)
    assert COOKIE in cookies, response.headers
    return cookies


def with_cookie(jwt: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Cookie": f"other=1; {COOKIE}={jwt}", **(extra or {})}


@pytest.fixture
async def browser(make_harness: HarnessFactory) -> AsyncIterator[Browser]:
    harness = await make_harness(session_cookie=True, allowed_origins=("https://sibling.test",))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=harness.app), base_url=SITE)
    yield Browser(harness, client)
    await client.aclose()


async def signed_in(browser: Browser, account: str | None = None) -> str:
    polled = await browser.sign_in(account)
    return session_cookie(polled)[COOKIE].value


async def test_completed_poll_sets_a_strict_httponly_secure_cookie_and_no_jwt(
    browser: Browser,
) -> None:
    polled = await browser.sign_in()
    assert polled.status_code == 200
    assert polled.json() == {"status": "complete", "session": "cookie"}
    morsel = session_cookie(polled)[COOKIE]
    jwt = morsel.value
    assert jwt.count(".") == 2
    assert jwt not in polled.text
    assert "jwt" not in polled.json()
    assert morsel["httponly"] is True
    assert morsel["secure"] is True
    assert morsel["samesite"] == "Strict"
    assert morsel["path"] == "/"
    assert morsel["domain"] == ""  # a __Host- cookie: this host only
    assert int(morsel["max-age"]) == Settings().token_ttl
    assert TOKEN_MARKER not in str(polled.headers)


async def test_every_sign_in_rotates_the_cookie(browser: Browser) -> None:
    first = await signed_in(browser)
    second = await signed_in(browser)
    assert first != second
    # Same account, two sessions: the earlier cookie still works.
    assert (await browser.harness.authai.whoami(second)).provider == "openai"
    assert (await browser.harness.authai.whoami(first)).user_id == (
        await browser.harness.authai.whoami(second)
    ).user_id


async def test_whoami_and_v1_accept_the_cookie(browser: Browser) -> None:
    jwt = await signed_in(browser)
    expected = await browser.harness.authai.whoami(jwt)
    who = await browser.client.get("/authai/auth/whoami", headers=with_cookie(jwt))
    assert who.status_code == 200
    assert who.json()["user"] == {"id": expected.user_id, "provider": "openai"}
    models = await browser.client.get("/authai/v1/models", headers=with_cookie(jwt))
    assert models.status_code == 200
    assert models.json()["data"]
    chat = await browser.client.post(
        "/authai/v1/chat/completions", json=CHAT, headers=with_cookie(jwt, SAME_ORIGIN)
    )
    assert chat.status_code == 200, chat.text
    assert chat.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize("headers", [CROSS_SITE, FOREIGN_ORIGIN, {"Origin": "null"}])
async def test_a_cross_site_post_by_cookie_is_refused(
    browser: Browser, headers: dict[str, str]
) -> None:
    jwt = await signed_in(browser)
    chat = await browser.client.post(
        "/authai/v1/chat/completions", json=CHAT, headers=with_cookie(jwt, headers)
    )
    assert (chat.status_code, chat.content) == (403, V1_FORBIDDEN)
    revoke = await browser.client.post("/authai/auth/revoke", headers=with_cookie(jwt, headers))
    assert (revoke.status_code, revoke.content) == (403, AUTH_FORBIDDEN)
    assert "set-cookie" not in revoke.headers
    # The refused revoke changed nothing: the session still works.
    assert (await browser.harness.authai.whoami(jwt)).provider == "openai"


async def test_cross_site_sign_in_steps_are_refused(browser: Browser) -> None:
    start = await browser.client.post("/authai/auth/start", json={}, headers=CROSS_SITE)
    assert (start.status_code, start.content) == (403, AUTH_FORBIDDEN)
    started = (await browser.client.post("/authai/auth/start", json={}, headers=SAME_ORIGIN)).json()
    browser.harness.emulator.approve(started["userCode"])
    browser.harness.clock.advance(started["pollIntervalMs"] / 1000)
    # A foreign page must not plant a session (its own account's, say) in a visitor's browser.
    path = f"/authai/auth/poll/{started['sessionId']}"
    foreign = await browser.client.get(path, headers={"Sec-Fetch-Site": "cross-site"})
    assert (foreign.status_code, foreign.content) == (403, AUTH_FORBIDDEN)
    assert "set-cookie" not in foreign.headers
    own = await browser.client.get(path, headers={"Sec-Fetch-Site": "same-origin"})
    assert own.json() == {"status": "complete", "session": "cookie"}


async def test_revoke_by_cookie_clears_it_and_ends_the_session(browser: Browser) -> None:
    jwt = await signed_in(browser)
    revoked = await browser.client.post(
        "/authai/auth/revoke", headers=with_cookie(jwt, SAME_ORIGIN)
    )
    assert revoked.status_code == 204
    morsel = session_cookie(revoked)[COOKIE]
    assert (morsel.value, morsel["max-age"]) == ("", "0")
    assert morsel["httponly"] is True
    assert morsel["secure"] is True
    who = await browser.client.get("/authai/auth/whoami", headers=with_cookie(jwt))
    assert (who.status_code, who.content) == (401, b'{"error":"unauthorized"}')
    # Revoking a dead session is the uniform 401, and still clears the cookie.
    again = await browser.client.post("/authai/auth/revoke", headers=with_cookie(jwt, SAME_ORIGIN))
    assert (again.status_code, again.content) == (401, b'{"error":"unauthorized"}')
    assert session_cookie(again)[COOKIE]["max-age"] == "0"


async def test_cookies_split_over_several_headers_are_read(browser: Browser) -> None:
    jwt = await signed_in(browser)
    who = await browser.client.get(
        "/authai/auth/whoami", headers=[("cookie", f"{COOKIE}={jwt}"), ("cookie", "a=1")]
    )
    assert who.status_code == 200


async def test_a_bad_cookie_gets_the_uniform_401(browser: Browser) -> None:
    for value in ("garbage", "a.b.c", ""):
        who = await browser.client.get("/authai/auth/whoami", headers=with_cookie(value))
        assert (who.status_code, who.content) == (401, b'{"error":"unauthorized"}')
        models = await browser.client.get("/authai/v1/models", headers=with_cookie(value))
        assert (models.status_code, models.content) == (401, AUTH_UNAUTHORIZED)


async def test_an_allowlisted_sibling_may_use_the_cookie_with_credentials(
    browser: Browser,
) -> None:
    jwt = await signed_in(browser)
    sibling = {"Sec-Fetch-Site": "same-site", "Origin": "https://sibling.test"}
    chat = await browser.client.post(
        "/authai/v1/chat/completions", json=CHAT, headers=with_cookie(jwt, sibling)
    )
    assert chat.status_code == 200
    assert chat.headers["access-control-allow-origin"] == "https://sibling.test"
    assert chat.headers["access-control-allow-credentials"] == "true"
    other = {"Sec-Fetch-Site": "same-site", "Origin": "https://other.app.test"}
    refused = await browser.client.post(
        "/authai/v1/chat/completions", json=CHAT, headers=with_cookie(jwt, other)
    )
    assert refused.status_code == 403


async def test_a_bearer_request_needs_no_csrf_check(browser: Browser) -> None:
    jwt = await signed_in(browser)
    # A page cannot make a browser attach an Authorization header cross-site, so a bearer
    # request is no CSRF risk (CORS still decides who may read the answer).
    chat = await browser.client.post(
        "/authai/v1/chat/completions",
        json=CHAT,
        headers={"Authorization": f"Bearer {jwt}", **CROSS_SITE},
    )
    assert chat.status_code == 200
    assert "access-control-allow-origin" not in chat.headers


async def test_non_browser_clients_without_fetch_headers_pass(browser: Browser) -> None:
    jwt = await signed_in(browser)
    chat = await browser.client.post(
        "/authai/v1/chat/completions", json=CHAT, headers=with_cookie(jwt)
    )
    assert chat.status_code == 200


async def test_same_origin_behind_a_tls_proxy_passes(make_harness: HarnessFactory) -> None:
    harness = await make_harness(session_cookie=True)
    # The app sees plain http (TLS ended at the proxy); the browser's Origin says https.
    started = await harness.client.post(
        "/authai/auth/start",
        json={},
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "https://app.test"},
    )
    assert started.status_code == 200
    refused = await harness.client.post(
        "/authai/auth/start", json={}, headers={"Origin": "https://app.test.evil.test"}
    )
    assert refused.status_code == 403


async def test_backend_code_passes_the_cookie_to_the_in_process_client(browser: Browser) -> None:
    jwt = await signed_in(browser)
    authai: AuthAI = browser.harness.authai
    header = f"theme=dark; {COOKIE}={jwt}; x=1"
    assert authai.session_from_cookies(header) == jwt
    assert authai.session_from_cookies({COOKIE: jwt, "theme": "dark"}) == jwt
    assert authai.session_from_cookies("theme=dark") is None
    assert authai.session_from_cookies(None) is None
    assert authai.session_from_cookies({}) is None
    session = authai.session_from_cookies(header)
    assert session is not None
    assert (await authai.whoami(session)).provider == "openai"
    client = authai.async_openai_client(session)
    completion = await client.chat.completions.create(
        model="gpt-5.4", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content
    await client.close()


async def test_cookie_mode_is_off_by_default(harness: Harness) -> None:
    assert Settings().session_cookie is False
    jwt = await harness.sign_in()  # the JWT comes in the body, as the reference relay's
    who = await harness.client.get("/authai/auth/whoami", headers=with_cookie(jwt))
    assert (who.status_code, who.content) == (401, b'{"error":"unauthorized"}')
    assert "access-control-allow-credentials" not in who.headers
    cross = await harness.client.post("/authai/auth/start", json={}, headers=CROSS_SITE)
    assert cross.status_code == 200


def test_the_environment_turns_it_on() -> None:
    assert Settings.from_env({"AUTH_AI_SESSION_COOKIE": "1"}).session_cookie is True
    assert Settings.from_env({"AUTH_AI_SESSION_COOKIE": "false"}).session_cookie is False
    assert Settings.from_env({}).session_cookie is False


@pytest.mark.parametrize(
    ("headers", "scheme", "allowed"),
    [
        ({}, "https", True),
        ({"sec-fetch-site": "same-origin"}, "https", True),
        (
            {"sec-fetch-site": "same-origin", "origin": "https://a.test", "host": "a.test"},
            "http",
            True,
        ),
        ({"origin": "http://a.test", "host": "a.test"}, "http", True),
        ({"origin": "http://a.test", "host": "a.test"}, "https", False),
        ({"origin": "https://a.test:8443", "host": "a.test:8443"}, "https", True),
        ({"origin": "https://a.test", "host": "a.test:8443"}, "https", False),
        ({"origin": "https://a.test"}, "https", False),  # no Host to compare with
        ({"sec-fetch-site": "cross-site"}, "https", False),
        ({"sec-fetch-site": "same-site"}, "https", False),
        ({"sec-fetch-site": "none"}, "https", False),
        ({"sec-fetch-site": "same-site", "origin": "https://ok.test"}, "https", True),
        ({"sec-fetch-site": "cross-site", "origin": "https://ok.test"}, "https", True),
        ({"origin": "null", "host": "a.test"}, "https", False),
    ],
)
def test_the_csrf_rule(headers: dict[str, str], scheme: str, allowed: bool) -> None:
    assert is_same_origin_or_allowed(headers, scheme, frozenset({"https://ok.test"})) is allowed


async def test_a_host_route_uses_the_cookie_and_the_same_csrf_rule(browser: Browser) -> None:
    """The pattern docs/fastapi.md shows: a host POST route reads the cookie, refuses cross-site
    callers with the mount's own rule, and calls the model in-process."""
    authai = browser.harness.authai

    @browser.harness.app.post("/api/ask")
    async def ask(request: Request) -> dict[str, str]:
        if not authai.passes_csrf_check(request.headers, request.url.scheme):
            raise HTTPException(403, "cross-site request refused")
        jwt = authai.session_from_cookies(request.cookies)
        if jwt is None:
            raise HTTPException(401, "sign in first")
        client = authai.async_openai_client(jwt)
        answer = await client.chat.completions.create(model="gpt-5.4", messages=MESSAGES)
        await client.close()
        return {"answer": answer.choices[0].message.content or ""}

    jwt = await signed_in(browser)
    ok = await browser.client.post("/api/ask", headers=with_cookie(jwt, SAME_ORIGIN))
    assert ok.status_code == 200
    assert ok.json()["answer"]
    for headers in (CROSS_SITE, FOREIGN_ORIGIN):
        refused = await browser.client.post("/api/ask", headers=with_cookie(jwt, headers))
        assert refused.status_code == 403
    sibling = {"Sec-Fetch-Site": "same-site", "Origin": "https://sibling.test"}
    allowed = await browser.client.post("/api/ask", headers=with_cookie(jwt, sibling))
    assert allowed.status_code == 200
    anonymous = await browser.client.post("/api/ask", headers=SAME_ORIGIN)
    assert anonymous.status_code == 401
