"""Both examples let a front end on another origin in through `AUTH_AI_ALLOWED_ORIGINS`, without
editing them: the mount's preflights and their own /api routes answer it; others stay out."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.examples import EXAMPLES, run_example

pytestmark = pytest.mark.e2e

FRONT_END = "http://localhost:5173"


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_a_listed_origin_may_call_the_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("AUTH_AI_ALLOWED_ORIGINS", f"{FRONT_END}, https://other.example")
    with run_example(name, tmp_path) as running, httpx.Client(base_url=running.base) as web:
        for path, method in (("/authai/auth/start", "POST"), ("/api/chat", "POST")):
            preflight = web.options(
                path,
                headers={
                    "Origin": FRONT_END,
                    "Access-Control-Request-Method": method,
                    "Access-Control-Request-Headers": "authorization, content-type",
                },
            )
            assert preflight.status_code in (200, 204), (path, preflight.text)
            assert preflight.headers["access-control-allow-origin"] == FRONT_END
            assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        me = web.get("/api/me", headers={"Origin": FRONT_END})
        assert me.status_code == 401
        assert me.headers["access-control-allow-origin"] == FRONT_END
        stranger = web.get("/api/me", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in stranger.headers
        started = web.post("/authai/auth/start", json={"provider": "nope"})
        assert started.json()["code"] == "unknown_provider"
