"""The Django example run by its one command, driven over real HTTP as its page would (no
browser needed): the page and the component, sign in through the emulator's form, the Django
views (`/api/me`, the streaming `/api/chat`), sign out; for each of the three providers."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.examples import NAMES, VERIFICATION, run_example

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("provider", list(VERIFICATION))
def test_the_django_example_serves_the_whole_flow(tmp_path: Path, provider: str) -> None:
    with run_example("django", tmp_path) as running, httpx.Client(base_url=running.base) as web:
        page = web.get("/")
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert '<script type="module" src="/authai/sdk.js"></script>' in page.text
        assert (
            '<authai-signin storage="session" show-limits>' in page.text
        )  # no provider: the three
        assert web.get("/authai/sdk.js").headers["content-type"].startswith("text/javascript")
        offered = web.get("/authai/auth/providers").json()["providers"]
        assert offered == [{"id": p, "displayName": n} for p, n in NAMES.items()]
        assert web.get("/api/me").status_code == 401

        started = web.post("/authai/auth/start", json={"provider": provider}).json()
        assert started["verificationUrl"].startswith(f"{running.base}{VERIFICATION[provider]}")
        form = web.get(started["verificationUrl"])
        action = re.search(r'<form method="post" action="([^"]+)"', form.text)
        assert action is not None
        approved = web.post(
            action.group(1), data={"user_code": started["userCode"], "action": "approve"}
        )
        assert approved.status_code == 200
        jwt = _poll(web, started)
        auth = {"Authorization": f"Bearer {jwt}"}

        me = web.get("/api/me", headers=auth).json()
        assert me["provider"] == provider
        assert me["provider_name"] == NAMES[provider]
        ask = {"messages": [{"role": "user", "content": "ping"}]}
        with web.stream("POST", "/api/chat", headers=auth, json=ask) as reply:
            assert reply.status_code == 200
            assert reply.headers["content-type"] == "text/plain; charset=utf-8"
            pieces = list(reply.iter_text())
        assert "".join(pieces) == "Echo: ping"
        assert web.post("/api/chat", headers=auth, content=b"{").status_code == 400
        assert web.get("/api/chat", headers=auth).status_code == 405

        assert web.post("/authai/auth/revoke", headers=auth).status_code == 204
        assert web.get("/api/me", headers=auth).status_code == 401
        chat = web.post("/api/chat", headers=auth, json=ask)
        assert chat.status_code == 401


def _poll(web: httpx.Client, started: dict[str, object]) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(max(1000, int(str(started["pollIntervalMs"]))) / 1000)
        polled = web.get(f"/authai/auth/poll/{started['sessionId']}").json()
        if polled["status"] != "pending":
            assert polled["status"] == "complete", polled
            jwt: str = polled["jwt"]
            return jwt
    raise AssertionError("the sign-in did not complete")
