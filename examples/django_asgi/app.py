"""The authai_embed demo on Django's ASGI application: "Sign in with ChatGPT / GitHub Copilot /
Grok", fully offline.

Run `python examples/django_asgi/app.py` and open http://127.0.0.1:8000. Django serves the page,
`/api/me` and the streaming `/api/chat`; `mount_authai` wraps Django's ASGI application and
serves `/authai`; the bundled upstream emulator plays the three providers at `/emulator`. The
settings live in this file (no project scaffolding). Set AUTH_AI_JWT_SECRET /
AUTH_AI_IDENTITY_SECRET to keep sessions across restarts; DEMO_HOST / DEMO_PORT / DEMO_DB change
the address and the database. AUTH_AI_ALLOWED_ORIGINS (comma-separated) lets a front end served
from another origin (a dev server on another port) call the mount and the /api routes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import django
import httpx
import openai
from asgiref.sync import markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from authai_embed import AuthAI, Secrets, SQLiteStore, StreamingASGITransport, mount_authai
from authai_embed.testing import Emulator
from authai_embed.types import ASGIApp, Receive, Scope, Send

HERE = Path(__file__).resolve().parent
HOST = os.environ.get("DEMO_HOST", "127.0.0.1")
PORT = int(os.environ.get("DEMO_PORT", "8000"))
DB = Path(os.environ.get("DEMO_DB", HERE / "demo.db"))

MODELS = {"openai": "gpt-5.4", "github": "gpt-5.4", "xai": "grok-4"}
"""The model the demo asks, per provider (all three are enabled; the page offers the three)."""

ALLOWED_ORIGINS = tuple(
    origin.strip()
    for origin in os.environ.get("AUTH_AI_ALLOWED_ORIGINS", "").split(",")
    if origin.strip()
)
"""The other origins allowed to call us (`AUTH_AI_ALLOWED_ORIGINS`, comma-separated)."""

settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "demo-only-not-secret"),
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=[HOST, "127.0.0.1", "localhost"],
    INSTALLED_APPS=[],
    # No session or CSRF middleware: the API authenticates with the bearer JWT, never a cookie.
    MIDDLEWARE=[f"{__name__}.ApiCors", "authai_embed.integrations.django.AuthAIMiddleware"],
    AUTHAI_INSTANCE=f"{__name__}._authai",  # the middleware's AuthAI, made by create_application
    LOGGING_CONFIG=None,
)
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402  (needs the settings above)
from django.urls import path  # noqa: E402
from django.utils.cache import patch_vary_headers  # noqa: E402

from authai_embed.integrations.django import async_openai_client, authai_required  # noqa: E402

_authai: AuthAI | None = None


def authai() -> AuthAI:
    """The mount made by `create_application` (one per process, like Django's settings)."""
    if _authai is None:
        raise RuntimeError("create_application() has not run")
    return _authai


class ApiCors:
    """CORS for the app's own /api routes (bearer header, no cookies) from `ALLOWED_ORIGINS`;
    /authai never reaches Django and answers its own."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = request.headers.get("Origin")
        listed = origin in ALLOWED_ORIGINS and request.path.startswith("/api/")
        if listed and request.method == "OPTIONS":
            response = HttpResponse(status=204)
        else:
            response = await self.get_response(request)
        if listed:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Methods"] = "GET, POST"
            response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            patch_vary_headers(response, ["Origin"])
        return response


async def index(request: HttpRequest) -> HttpResponse:
    """The chat page (the same page as the FastAPI example's)."""
    page = (HERE / "static" / "index.html").read_bytes()
    return HttpResponse(page, content_type="text/html; charset=utf-8")


@authai_required
async def me(request: Any) -> JsonResponse:
    """Who is signed in, as the Django backend sees it (never the provider's tokens)."""
    user = request.authai_user  # a WhoAmI: @authai_required answered 401 without one
    name = authai().providers[user.provider].display_name
    return JsonResponse({"user_id": user.user_id, "provider": user.provider, "provider_name": name})


@authai_required
async def chat(request: Any) -> HttpResponse:
    """Stream the model's reply as plain text, paid for by the signed-in user's plan."""
    if request.method != "POST":
        return JsonResponse({"detail": "POST only"}, status=405, headers={"Allow": "POST"})
    try:
        body: Any = json.loads(request.body)
    except ValueError:
        return JsonResponse({"detail": "the body must be JSON"}, status=400)
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages:
        return JsonResponse({"detail": "messages must be a non-empty list"}, status=400)
    client = async_openai_client(request)
    try:
        stream = await client.chat.completions.create(
            model=MODELS[request.authai_user.provider], messages=messages, stream=True
        )
    except openai.APIStatusError as exc:  # a usage limit (429), a refusal, a 502
        return JsonResponse({"detail": exc.message}, status=exc.status_code)

    async def text() -> AsyncIterator[str]:
        async with stream:
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

    return StreamingHttpResponse(text(), content_type="text/plain; charset=utf-8")


urlpatterns = [path("", index), path("api/me", me), path("api/chat", chat)]


class PrefixRouter:
    """Serve one ASGI app under a path prefix (here the emulator) and everything else with
    another; the prefix goes to `root_path`, as a framework mount would do."""

    def __init__(self, prefix: str, mounted: ASGIApp, rest: ASGIApp) -> None:
        self.prefix, self.mounted, self.rest = prefix, mounted, rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path_: str = scope.get("path", "")
        if scope["type"] == "http" and (
            path_ == self.prefix or path_.startswith(self.prefix + "/")
        ):
            scope = {**scope, "root_path": scope.get("root_path", "") + self.prefix}
            await self.mounted(scope, receive, send)
            return
        await self.rest(scope, receive, send)


def _secrets() -> Secrets:
    if os.environ.get("AUTH_AI_JWT_SECRET"):
        return Secrets.from_env()
    logging.getLogger("demo").warning("demo: fresh secrets for this run (sessions end on restart)")
    return Secrets.generate()


def create_application(
    db_path: str | os.PathLike[str] = DB, *, host: str = HOST, port: int = PORT
) -> ASGIApp:
    """Django's ASGI application with authai at /authai and the emulator at /emulator.

    `host`/`port` are where the app is served: the emulator's sign-in page lives there.
    """
    global _authai
    issuer = f"http://{host}:{port}/emulator"
    # A faster poll interval than the real server's 5 s keeps the demo snappy.
    emulator = Emulator(issuer=issuer, interval="2")
    # Short pauses between the models' events, so the reply visibly streams in.
    emulator.codex.knobs.event_delay = 0.03
    emulator.github.model.knobs.event_delay = emulator.xai.model.knobs.event_delay = 0.03
    emulator.github.knobs.interval = emulator.xai.knobs.interval = 2
    application = get_asgi_application()
    _authai = mount_authai(
        application,
        store=SQLiteStore(db_path),
        secrets=_secrets(),
        originator="authai-demo",
        providers=["openai", "github", "xai"],
        openai={"issuer": issuer, "api_base": f"{issuer}/backend-api/codex"},
        github={"web_base": f"{issuer}/github", "api_base": f"{issuer}/github-api"},
        xai={"issuer": f"{issuer}/xai-auth", "api_base": f"{issuer}/xai/v1"},
        allowed_origins=ALLOWED_ORIGINS,
        http_client=httpx.AsyncClient(
            transport=StreamingASGITransport(emulator, root_path="/emulator")
        ),
    )
    return PrefixRouter("/emulator", emulator, _authai)


if __name__ == "__main__":
    import uvicorn

    print(f"authai_embed Django demo: open http://{HOST}:{PORT}  (Ctrl+C to stop)")
    uvicorn.run(create_application(), host=HOST, port=PORT, log_level="info")
