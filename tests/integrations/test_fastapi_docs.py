"""docs/fastapi.md's app runs as written: its first block and the streaming route after it make
an app whose routes refuse a missing session in FastAPI's style and show the scheme."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from authai_embed import Secrets

pytestmark = pytest.mark.anyio

PAGE = Path(__file__).resolve().parents[2] / "docs" / "fastapi.md"


def the_app_blocks() -> str:
    """The page's first Python block (the app) and the chat route that continues it."""
    blocks: list[str] = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)
    app = next(block for block in blocks if "mount_authai(" in block)
    chat = next(block for block in blocks if '@app.post("/api/chat")' in block)
    assert blocks.index(app) < blocks.index(chat)
    return app + "\n" + chat


async def test_the_page_app_serves_its_routes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = Secrets.generate()
    monkeypatch.setenv("AUTH_AI_JWT_SECRET", secrets.signing_key.secret.hex())
    monkeypatch.setenv("AUTH_AI_IDENTITY_SECRET", secrets.identity_key.hex())
    monkeypatch.chdir(tmp_path)  # its SQLiteStore("authai.db")
    namespace: dict[str, Any] = {"__name__": "docs_fastapi"}
    exec(compile(the_app_blocks(), str(PAGE), "exec"), namespace)  # noqa: S102  (our own page)
    app, authai = namespace["app"], namespace["authai"]
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as client:
            me = await client.get("/api/me")
            assert (me.status_code, me.json()) == (401, {"detail": "unauthorized"})
            chat = await client.post("/api/chat", json={"messages": []})
            assert (chat.status_code, chat.json()) == (401, {"detail": "unauthorized"})
            spec = (await client.get("/openapi.json")).json()
            assert spec["paths"]["/api/chat"]["post"]["security"] == [{"HTTPBearer": []}]
    finally:
        await authai.shutdown()
