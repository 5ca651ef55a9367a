"""FastAPI: `authai.current_user` and `authai.openai` as dependencies, in the host's own style.

No `from __future__ import annotations` here: the routes are made inside the tests, with local
`Annotated` aliases, and FastAPI reads their annotations at run time (a host defines the aliases
at module level, where either way works).
"""

from typing import Annotated, Any

import openai
import pytest
from fastapi import Depends

from authai_embed import WhoAmI
from tests._support.harness import Harness, HarnessFactory

pytestmark = pytest.mark.anyio

CHAT = {"messages": [{"role": "user", "content": "hi"}]}


def add_routes(harness: Harness) -> None:
    """The routes a host writes: `Annotated` aliases of the two dependencies."""
    authai, app = harness.authai, harness.app
    current_user = Annotated[WhoAmI, Depends(authai.current_user)]
    openai_client = Annotated[openai.AsyncOpenAI, Depends(authai.openai)]

    @app.get("/api/me")
    async def me(user: current_user) -> dict[str, str]:
        return {"id": user.user_id, "provider": user.provider}

    @app.post("/api/chat")
    async def chat(body: dict[str, Any], client: openai_client) -> dict[str, Any]:
        answer = await client.chat.completions.create(model="gpt-5.4", messages=body["messages"])
        return {"text": answer.choices[0].message.content}


async def test_current_user_is_the_signed_in_user(harness: Harness) -> None:
    add_routes(harness)
    jwt = await harness.sign_in()
    response = await harness.client.get("/api/me", headers={"Authorization": f"Bearer {jwt}"})
    who = await harness.authai.whoami(jwt)
    assert response.json() == {"id": who.user_id, "provider": "openai"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic eDp5"}],
    ids=["none", "bad-jwt", "other-scheme"],
)
async def test_current_user_is_a_401_in_fastapi_style(
    harness: Harness, headers: dict[str, str]
) -> None:
    add_routes(harness)
    response = await harness.client.get("/api/me", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "unauthorized"}
    assert response.headers["www-authenticate"] == "Bearer"


async def test_openai_dependency_chats_as_the_user(harness: Harness) -> None:
    add_routes(harness)
    jwt = await harness.sign_in()
    response = await harness.client.post(
        "/api/chat", json=CHAT, headers={"Authorization": f"Bearer {jwt}"}
    )
    assert response.status_code == 200
    assert response.json()["text"]


async def test_openai_dependency_refuses_a_revoked_session_before_the_route(
    harness: Harness,
) -> None:
    add_routes(harness)
    jwt = await harness.sign_in()
    await harness.authai.revoke(jwt)
    response = await harness.client.post(
        "/api/chat", json=CHAT, headers={"Authorization": f"Bearer {jwt}"}
    )
    assert (response.status_code, response.json()) == (401, {"detail": "unauthorized"})


async def test_the_security_scheme_shows_in_the_openapi_page(harness: Harness) -> None:
    add_routes(harness)
    spec = (await harness.client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "The session JWT from the sign-in.",
        }
    }
    assert spec["paths"]["/api/me"]["get"]["security"] == [{"HTTPBearer": []}]


# -- cookie mode ------------------------------------------------------------------------------


async def cookie_harness(make_harness: HarnessFactory) -> tuple[Harness, dict[str, str]]:
    """A harness in cookie mode, with a user signed in: the cookie to send."""
    harness = await make_harness(session_cookie=True)
    add_routes(harness)
    started = (await harness.client.post("/authai/auth/start", json={})).json()
    harness.approve("openai", started["userCode"])
    harness.clock.advance(started["pollIntervalMs"] / 1000)
    polled = await harness.client.get(f"/authai/auth/poll/{started['sessionId']}")
    name, _, value = polled.headers["set-cookie"].split(";")[0].partition("=")
    harness.client.cookies.clear()  # sent by hand below, so each test says what it sends
    return harness, {"Cookie": f"{name}={value}"}


async def test_cookie_mode_current_user_reads_the_cookie(make_harness: HarnessFactory) -> None:
    harness, cookie = await cookie_harness(make_harness)
    response = await harness.client.get("/api/me", headers=cookie)
    assert response.status_code == 200
    assert response.json()["provider"] == "openai"


async def test_cookie_mode_same_origin_post_chats(make_harness: HarnessFactory) -> None:
    harness, cookie = await cookie_harness(make_harness)
    same_site = {**cookie, "Origin": "http://app.test", "Sec-Fetch-Site": "same-origin"}
    response = await harness.client.post("/api/chat", json=CHAT, headers=same_site)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
    ],
    ids=["foreign-origin", "cross-site-fetch", "null-origin"],
)
async def test_cookie_mode_refuses_a_cross_site_post(
    make_harness: HarnessFactory, headers: dict[str, str]
) -> None:
    harness, cookie = await cookie_harness(make_harness)
    response = await harness.client.post("/api/chat", json=CHAT, headers={**cookie, **headers})
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "cross-site request refused"},
    )


async def test_cookie_mode_shows_both_schemes_in_openapi(make_harness: HarnessFactory) -> None:
    harness, _ = await cookie_harness(make_harness)
    spec = (await harness.client.get("/openapi.json")).json()
    assert set(spec["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyCookie"}
    assert spec["components"]["securitySchemes"]["APIKeyCookie"]["name"] == "__Host-authai_session"


async def test_without_cookie_mode_a_cookie_is_not_a_session(make_harness: HarnessFactory) -> None:
    harness = await make_harness()
    add_routes(harness)
    jwt = await harness.sign_in()
    response = await harness.client.get(
        "/api/me", headers={"Cookie": f"__Host-authai_session={jwt}"}
    )
    assert response.status_code == 401


async def test_the_dependencies_are_made_once_per_mount(harness: Harness) -> None:
    assert harness.authai.current_user is harness.authai.current_user
    assert harness.authai.openai is harness.authai.openai
