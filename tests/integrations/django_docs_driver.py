"""Run in a subprocess by `test_django_docs.py`, inside the project that docs/django.md builds:
serve the emulator on loopback, then sign in and call each view through `mysite.asgi`'s
application in-process; print what happened as JSON (one object) on stdout."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import anyio
import httpx

from authai_embed import Secrets, StreamingASGITransport
from authai_embed.testing import Emulator
from tests._support.loopback import served

BASE = "http://127.0.0.1"  # in DEBUG, Django's default ALLOWED_HOSTS accept it


async def main() -> dict[str, Any]:
    emulator = Emulator(interval="1")  # the shortest poll interval a sign-in may ask for
    async with served(emulator) as upstream:
        secrets = Secrets.generate()
        os.environ.update(
            AUTH_AI_JWT_SECRET=secrets.signing_key.secret.hex(),
            AUTH_AI_IDENTITY_SECRET=secrets.identity_key.hex(),
            AUTH_AI_OPENAI_ISSUER=upstream,
            AUTH_AI_OPENAI_API_BASE=f"{upstream}/backend-api/codex",
            AUTH_AI_DB_URL="sqlite:///authai.db",
        )
        emulator.auth.knobs.issuer = upstream  # known only now: the port is the server's
        sys.path.insert(0, os.getcwd())
        from mysite.asgi import application  # type: ignore[import-not-found]

        transport = StreamingASGITransport(application)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as web:
            return await drive(web, emulator)


async def drive(web: httpx.AsyncClient, emulator: Emulator) -> dict[str, Any]:
    seen: dict[str, Any] = {"anonymous_me": (await web.get("/api/me")).json()}
    anonymous_chat = await web.post("/api/chat", json={"messages": []})
    seen["anonymous_chat"] = [anonymous_chat.status_code, anonymous_chat.json()]
    started = (await web.post("/authai/auth/start", json={"provider": "openai"})).json()
    emulator.approve(started["userCode"])
    polled: dict[str, Any] = {"status": "pending"}
    while polled["status"] == "pending":
        await anyio.sleep(started["pollIntervalMs"] / 1000)  # as the browser does
        polled = (await web.get(f"/authai/auth/poll/{started['sessionId']}")).json()
    bearer = {"Authorization": f"Bearer {polled['jwt']}"}
    seen["me"] = (await web.get("/api/me", headers=bearer)).json()
    messages = [{"role": "user", "content": "hi"}]
    # No CSRF token and CsrfViewMiddleware on (the default project): @authai_required exempts.
    async with web.stream("POST", "/api/chat", json={"messages": messages}, headers=bearer) as r:
        seen["chat"] = [r.status_code, r.headers["content-type"], await r.aread()]
    seen["chat"][2] = seen["chat"][2].decode()
    summary = await web.post("/api/summary", data={"text": "hi"}, headers=bearer)
    seen["summary"] = [summary.status_code, summary.json()]
    return seen


if __name__ == "__main__":
    print(json.dumps(anyio.run(main)))
