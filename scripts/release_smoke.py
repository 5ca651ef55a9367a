"""The release smoke test: run with an installed authai-embed (not the checkout) to show that what
would be published works: import it, mount it on an ASGI app, sign in against the bundled
emulator, make one model call. `scripts/release_smoke.sh` runs it in a fresh virtualenv."""

from __future__ import annotations

import asyncio
import sys
from importlib import resources

import httpx

import authai_embed
from authai_embed import MemoryStore, Secrets, StreamingASGITransport, mount_authai
from authai_embed.testing import Emulator
from authai_embed.types import Receive, Scope, Send

ISSUER = "http://emulator.test"


async def host_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The host's own app: everything outside /authai."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"host"})


async def smoke() -> str:
    package = resources.files("authai_embed")
    assert package.joinpath("py.typed").is_file(), "py.typed is missing from the wheel"
    assert package.joinpath("web", "authai-signin.js").is_file(), "the web component is missing"
    emulator = Emulator(issuer=ISSUER, interval="1")
    upstream = httpx.AsyncClient(transport=StreamingASGITransport(emulator))
    app = mount_authai(
        host_app,
        secrets=Secrets.generate(),
        store=MemoryStore(),
        originator="release-smoke",
        openai={"issuer": ISSUER, "api_base": f"{ISSUER}/backend-api/codex"},
        http_client=upstream,
    )
    transport = StreamingASGITransport(app)
    async with (
        app.lifespan(),
        upstream,
        httpx.AsyncClient(transport=transport, base_url="http://app.test") as http,
    ):
        assert (await http.get("/")).text == "host"
        started = (await http.post("/authai/auth/start", json={"provider": "openai"})).json()
        emulator.approve(started["userCode"])
        for _ in range(30):
            await asyncio.sleep(started["pollIntervalMs"] / 1000)
            polled = (await http.get(f"/authai/auth/poll/{started['sessionId']}")).json()
            if polled["status"] != "pending":
                break
        assert polled["status"] == "complete", polled
        answer = await http.post(
            "/authai/v1/chat/completions",
            headers={"authorization": f"Bearer {polled['jwt']}"},
            json={"model": "gpt-5.4", "messages": [{"role": "user", "content": "smoke"}]},
        )
        assert answer.status_code == 200, answer.text
        content: str = answer.json()["choices"][0]["message"]["content"]
        assert "smoke" in content, content
        return content


def main() -> int:
    """Run the smoke test; 0 when it passed."""
    where = authai_embed.__file__
    content = asyncio.run(smoke())
    print(f"release smoke ok: authai-embed {authai_embed.__version__} from {where}: {content!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
