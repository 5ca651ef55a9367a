"""The authai_embed demo: a FastAPI app with "Sign in with ChatGPT / GitHub Copilot / Grok",
fully offline.

Run `python examples/fastapi_app/app.py` and open http://127.0.0.1:8000. The three providers'
sign-in pages and models are the bundled upstream emulator, mounted at /emulator; the backend
reaches it in-process.
Set AUTH_AI_JWT_SECRET / AUTH_AI_IDENTITY_SECRET to keep sessions across restarts (otherwise
fresh secrets are made at each start and earlier sessions end). DEMO_HOST / DEMO_PORT / DEMO_DB
change the address and the database. AUTH_AI_ALLOWED_ORIGINS (comma-separated) lets a front end
served from another origin (a dev server on another port) call the mount and the /api routes.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at run time, and
# these routes (made inside `create_app`) use local `Annotated` aliases.
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import openai
from fastapi import Body, Depends, FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from authai_embed import Secrets, SQLiteStore, StreamingASGITransport, WhoAmI, mount_authai
from authai_embed.testing import Emulator

HERE = Path(__file__).resolve().parent
HOST = os.environ.get("DEMO_HOST", "127.0.0.1")
PORT = int(os.environ.get("DEMO_PORT", "8000"))
DB = Path(os.environ.get("DEMO_DB", HERE / "demo.db"))


MODELS = {"openai": "gpt-5.4", "github": "gpt-5.4", "xai": "grok-4"}
"""The model the demo asks, per provider (all three are enabled; the page offers the three)."""


def allowed_origins() -> tuple[str, ...]:
    """The other origins allowed to call us (`AUTH_AI_ALLOWED_ORIGINS`, comma-separated)."""
    listed = os.environ.get("AUTH_AI_ALLOWED_ORIGINS", "").split(",")
    return tuple(origin.strip() for origin in listed if origin.strip())


class ApiCors:
    """CORS for the app's own /api routes (bearer header, no cookies): /authai answers its own
    preflights, with its own allowed headers."""

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        api = scope["type"] == "http" and scope["path"].startswith("/api/")
        await (self.cors if api else self.app)(scope, receive, send)


def _secrets() -> Secrets:
    if os.environ.get("AUTH_AI_JWT_SECRET"):
        return Secrets.from_env()
    logging.getLogger("demo").warning("demo: fresh secrets for this run (sessions end on restart)")
    return Secrets.generate()


def create_app(
    db_path: str | os.PathLike[str] = DB, *, host: str = HOST, port: int = PORT
) -> FastAPI:
    """The host app: its own page and /api/me, the emulator, and authai at /authai.

    `host`/`port` are where the app is served: the emulator's sign-in page lives there.
    """
    issuer = f"http://{host}:{port}/emulator"
    app = FastAPI(title="authai_embed demo")
    # A faster poll interval than the real server's 5 s keeps the demo snappy.
    emulator = Emulator(issuer=issuer, interval="2")
    # Short pauses between the models' events, so the reply visibly streams in.
    emulator.codex.knobs.event_delay = 0.03
    emulator.github.model.knobs.event_delay = emulator.xai.model.knobs.event_delay = 0.03
    emulator.github.knobs.interval = emulator.xai.knobs.interval = 2
    app.mount("/emulator", emulator)
    origins = allowed_origins()
    app.add_middleware(ApiCors, origins=origins)
    authai = mount_authai(
        app,
        store=SQLiteStore(db_path),
        secrets=_secrets(),
        originator="authai-demo",
        providers=["openai", "github", "xai"],
        openai={"issuer": issuer, "api_base": f"{issuer}/backend-api/codex"},
        github={"web_base": f"{issuer}/github", "api_base": f"{issuer}/github-api"},
        xai={"issuer": f"{issuer}/xai-auth", "api_base": f"{issuer}/xai/v1"},
        allowed_origins=origins,
        http_client=httpx.AsyncClient(
            transport=StreamingASGITransport(emulator, root_path="/emulator")
        ),
    )

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(HERE / "static" / "index.html")

    current_user = Annotated[WhoAmI, Depends(authai.current_user)]
    openai_client = Annotated[openai.AsyncOpenAI, Depends(authai.openai)]

    @app.get("/api/me")
    async def me(user: current_user) -> dict[str, str]:
        """Who is signed in, as the host backend sees it (never the provider's tokens)."""
        name = authai.providers[user.provider].display_name
        return {"user_id": user.user_id, "provider": user.provider, "provider_name": name}

    @app.post("/api/chat")
    async def chat(
        user: current_user, client: openai_client, body: Annotated[Any, Body()]
    ) -> StreamingResponse:
        """Stream the model's reply as plain text, paid for by the signed-in user's plan."""
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not messages:
            raise HTTPException(400, "messages must be a non-empty list")
        try:
            stream = await client.chat.completions.create(
                model=MODELS[user.provider], messages=messages, stream=True
            )
        except openai.APIStatusError as exc:  # a usage limit (429), a refusal, a 502
            raise HTTPException(exc.status_code, exc.message) from None

        async def text() -> AsyncIterator[str]:
            async with stream:
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content

        return StreamingResponse(text(), media_type="text/plain; charset=utf-8")

    app.state.authai = authai
    app.state.emulator = emulator
    return app


app = create_app()

if __name__ == "__main__":
    import uvicorn

    print(f"authai_embed demo: open http://{HOST}:{PORT}  (Ctrl+C to stop)")
    uvicorn.run(app, host=HOST, port=PORT, log_level="info")
