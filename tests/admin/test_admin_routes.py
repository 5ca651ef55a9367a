"""The optional admin routes: absent without `admin_guard`, 403 for whoever it refuses, CSRF
checked on changes, every change audited under the guard's name, and never a token shown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from authai_embed import InvalidRequest, UserDetail
from authai_embed.testing import TOKEN_MARKER
from authai_embed.types import Scope
from tests._support.harness import Harness, HarnessFactory

pytestmark = pytest.mark.anyio

CHAT = {"model": "gpt-5.4", "messages": [{"role": "user", "content": "hello"}]}
ADMIN = {"x-admin": "letmein"}
SAME_ORIGIN = {**ADMIN, "sec-fetch-site": "same-origin", "origin": "http://app.test"}
CROSS_SITE = {**ADMIN, "sec-fetch-site": "cross-site", "origin": "https://evil.test"}


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


async def guard(scope: Scope) -> str | None:
    """An async guard: the admin is whoever sends the right header."""
    headers = dict(scope["headers"])
    return "alice" if headers.get(b"x-admin") == b"letmein" else None


def sync_guard(scope: Scope) -> str | None:
    return "bob" if (b"x-admin", b"letmein") in scope["headers"] else None


@pytest.fixture
async def admin(make_harness: HarnessFactory) -> Harness:
    harness = await make_harness(admin_guard=guard)
    harness.emulator.add_account(account_id="ann", email="ann@example.com")
    harness.emulator.add_account(account_id="ben", email="ben@example.com")
    return harness


async def test_without_an_admin_guard_there_are_no_admin_routes(harness: Harness) -> None:
    for method, path in (("GET", "/users"), ("POST", "/pause"), ("GET", "/audit")):
        response = await harness.client.request(method, "/authai/admin" + path, headers=ADMIN)
        assert response.status_code == 404


async def test_the_guard_refusing_is_a_403_and_nothing_happens(admin: Harness) -> None:
    for method, path in (("GET", "/users"), ("POST", "/pause"), ("GET", "/controls")):
        response = await admin.client.request(method, "/authai/admin" + path)
        assert (response.status_code, response.json()) == (403, {"error": "forbidden"})
    assert (await admin.authai.controls()).pauses == ()
    assert await admin.authai.audit_log() == []


async def test_a_cross_site_change_is_refused_before_the_guard(admin: Harness) -> None:
    response = await admin.client.post("/authai/admin/pause", json={}, headers=CROSS_SITE)
    assert (response.status_code, response.json()) == (403, {"error": "forbidden"})
    assert (await admin.authai.controls()).pauses == ()
    listed = await admin.client.get("/authai/admin/users", headers=CROSS_SITE)
    assert listed.status_code == 200  # a read changes nothing


async def test_list_users_and_a_users_sessions_without_tokens(admin: Harness) -> None:
    jwt = await admin.sign_in(account="ann")
    await admin.sign_in(account="ann")
    user_id = (await admin.authai.whoami(jwt)).user_id

    users = await admin.client.get("/authai/admin/users", headers=ADMIN)
    detail = await admin.client.get(f"/authai/admin/users/{user_id}", headers=ADMIN)

    assert users.status_code == 200
    (listed,) = users.json()["users"]
    assert listed["id"] == user_id
    assert (listed["provider"], listed["sessions"]) == ("openai", 2)
    body = detail.json()
    assert [s["provider"] for s in body["sessions"]] == ["openai", "openai"]
    assert (body["usage"], body["limits"]) == ([], None)  # no call made yet; limits never fetched
    for text in (users.text, detail.text):
        assert TOKEN_MARKER not in text
        assert jwt not in text


async def test_admin_revoke_ends_every_session_and_is_audited(admin: Harness) -> None:
    first = await admin.sign_in(account="ann")
    second = await admin.sign_in(account="ann")
    other = await admin.sign_in(account="ben")
    user_id = (await admin.authai.whoami(first)).user_id

    response = await admin.client.post(f"/authai/admin/users/{user_id}/revoke", headers=SAME_ORIGIN)

    assert response.json() == {"revoked": 2}
    for jwt, status in ((first, 401), (second, 401), (other, 200)):
        chat = await admin.client.post(
            "/authai/v1/chat/completions", json=CHAT, headers=bearer(jwt)
        )
        assert chat.status_code == status
    audit = (await admin.client.get("/authai/admin/audit", headers=ADMIN)).json()["entries"]
    assert [(e["by"], e["action"], e["target"], e["detail"]) for e in audit] == [
        ("alice", "revoke", user_id, "2 sessions")
    ]


async def test_pause_and_resume_through_the_routes(make_harness: HarnessFactory) -> None:
    admin = await make_harness(admin_guard=sync_guard)
    jwt = await admin.sign_in()

    paused = await admin.client.post(
        "/authai/admin/pause",
        json={"provider": "openai", "until": "2027-02-01T00:00:00Z"},
        headers=SAME_ORIGIN,
    )
    assert paused.status_code == 200
    assert [(p["name"], p["by"]) for p in paused.json()["paused"]] == [("models:openai", "bob")]
    chat = await admin.client.post("/authai/v1/chat/completions", json=CHAT, headers=bearer(jwt))
    assert chat.status_code == 503

    resumed = await admin.client.post(
        "/authai/admin/resume", json={"provider": "openai"}, headers=SAME_ORIGIN
    )
    assert resumed.json() == {"resumed": True, "paused": []}
    controls = await admin.client.get("/authai/admin/controls", headers=ADMIN)
    assert controls.json() == {"paused": []}
    actions = [e.action for e in await admin.authai.audit_log()]
    assert actions == ["pause", "resume"]


async def test_a_bad_pause_body_is_a_400(admin: Harness) -> None:
    bodies: list[object] = [[], {"signins": "yes"}, {"provider": 3}, {"provider": "nope"}]
    for body in bodies:
        response = await admin.client.post("/authai/admin/pause", json=body, headers=SAME_ORIGIN)
        assert response.status_code == 400, body
    assert (await admin.authai.controls()).pauses == ()


async def test_usage_export_is_404_with_the_usage_ledger_off(make_harness: HarnessFactory) -> None:
    harness = await make_harness(admin_guard=guard, usage_ledger=False)
    response = await harness.client.get("/authai/admin/usage", headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["error"] == "no usage ledger is configured for this mount"
    assert await harness.authai.audit_log() == []


async def test_the_admin_sees_the_usage_ledgers_rows(admin: Harness) -> None:
    jwt = await admin.sign_in()
    user_id = (await admin.authai.whoami(jwt)).user_id
    chat = await admin.client.post("/authai/v1/chat/completions", json=CHAT, headers=bearer(jwt))
    assert chat.status_code == 200

    detail = await admin.client.get(f"/authai/admin/users/{user_id}", headers=ADMIN)
    export = await admin.client.get("/authai/admin/usage?format=json", headers=ADMIN)

    [row] = detail.json()["usage"]
    assert (row["user_id"], row["provider"], row["model"], row["requests"]) == (
        user_id,
        "openai",
        "gpt-5.4",
        1,
    )
    assert row["output_tokens"] > 0
    assert export.json() == [row]


async def test_usage_export_writes_the_ledgers_rows_and_is_audited(admin: Harness) -> None:
    asked: list[tuple[str | None, float | None, float | None]] = []

    async def ledger(
        user: str | None, since: float | None, until: float | None
    ) -> list[Mapping[str, Any]]:
        asked.append((user, since, until))
        return [{"user": "u1", "model": "gpt-5.4", "tokens": 12}]

    admin.authai.admin.usage_source = ledger

    csv = await admin.client.get("/authai/admin/usage?user=u1&since=10", headers=ADMIN)
    as_json = await admin.client.get("/authai/admin/usage?format=json", headers=ADMIN)

    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.text == "user,model,tokens\r\nu1,gpt-5.4,12\r\n"
    assert as_json.json() == [{"user": "u1", "model": "gpt-5.4", "tokens": 12}]
    assert asked == [("u1", 10.0, None), (None, None, None)]
    audit = [(e.actor, e.action, e.target) for e in await admin.authai.audit_log()]
    assert audit == [("alice", "export", "u1"), ("alice", "export", "*")]


async def test_user_detail_fills_usage_and_limits_from_their_sources(admin: Harness) -> None:
    jwt = await admin.sign_in()
    user_id = (await admin.authai.whoami(jwt)).user_id

    async def usage(user: str | None, since: float | None, until: float | None) -> list[Any]:
        return [{"user": user, "requests": 3}]

    async def limits(user: str) -> dict[str, Any]:
        return {"plan": "plus"}

    admin.authai.admin.usage_source = usage
    admin.authai.admin.limits_source = limits

    detail = await admin.authai.user_detail(user_id)

    assert isinstance(detail, UserDetail)
    assert (detail.usage, detail.limits) == ([{"user": user_id, "requests": 3}], {"plan": "plus"})
    assert len(detail.sessions) == 1


async def test_a_users_limits_are_those_this_process_last_fetched(admin: Harness) -> None:
    jwt = await admin.sign_in()
    user_id = (await admin.authai.whoami(jwt)).user_id
    detail = await admin.client.get(f"/authai/admin/users/{user_id}", headers=ADMIN)
    assert detail.json()["limits"] is None  # never fetched: not made up

    fetched = await admin.client.get("/authai/auth/limits", headers=bearer(jwt))
    detail = await admin.client.get(f"/authai/admin/users/{user_id}", headers=ADMIN)

    assert fetched.status_code == 200
    assert detail.json()["limits"] == fetched.json()
    assert detail.json()["usage"] == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/users?limit=many", 400),
        ("GET", "/users?limit=0", 400),
        ("GET", "/audit?limit=-1", 400),
        ("GET", "/audit?since=last%20week", 400),
        ("GET", "/usage?format=xml", 400),
        ("POST", "/users/someone/delete", 404),
        ("GET", "/users/a/b", 404),
    ],
)
async def test_bad_admin_requests_are_refused(
    admin: Harness, method: str, path: str, status: int
) -> None:
    response = await admin.client.request(method, "/authai/admin" + path, headers=SAME_ORIGIN)
    assert response.status_code == status
    assert await admin.authai.audit_log() == []


async def test_an_admin_name_the_audit_log_cannot_keep_is_refused(harness: Harness) -> None:
    for name in ("", "   ", "x" * 201, "bad\nname", 3):
        with pytest.raises(InvalidRequest):
            await harness.authai.pause(by=name)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        await harness.authai.pause(until=True, by="ops")
    assert (await harness.authai.controls()).pauses == ()
