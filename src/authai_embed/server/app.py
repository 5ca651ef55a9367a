"""The standalone server's ASGI app: the mount at the root, where the reference relay serves it.

`GET /`, `/auth/*` and `/v1/*` are at the root, so clients of the reference relay only change
their base URL. In emulator mode the bundled upstream emulator is served beside them at
`/emulator` (its device page is where a person approves a code) and the mount reaches it
in-process.
"""

from __future__ import annotations

import httpx

from authai_embed._transports.asgi import StreamingASGITransport
from authai_embed.asgi.app import AuthAI
from authai_embed.server.config import ServeConfig, load_config
from authai_embed.stores.url import store_from_url
from authai_embed.types import ASGIApp, Receive, Scope, Send

__all__ = ["EMULATOR_PATH", "build_app", "create_app", "emulator_issuer"]

EMULATOR_PATH = "/emulator"


def create_app() -> ASGIApp:
    """The app for the environment as it is (`uvicorn --factory authai_embed.server:create_app`);
    raises `ConfigError` on a missing or bad variable."""
    return build_app(load_config())


def emulator_issuer(config: ServeConfig) -> str:
    """The emulator's base URL as a browser on this machine reaches it."""
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host  # noqa: S104
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{config.port}{EMULATOR_PATH}"


def build_app(config: ServeConfig) -> ASGIApp:
    """The mount for `config`, with the emulator beside it in emulator mode."""
    store = store_from_url(config.store_url)
    if not config.emulator:
        return AuthAI(secrets=config.secrets, store=store, settings=config.settings)
    from authai_embed.testing import Emulator

    issuer = emulator_issuer(config)
    emulator = Emulator(issuer=issuer, interval="1")
    delay = config.emulator_event_delay
    emulator.codex.knobs.event_delay = delay
    emulator.github.model.knobs.event_delay = emulator.xai.model.knobs.event_delay = delay
    emulator.github.knobs.interval = emulator.xai.knobs.interval = 1
    settings = config.settings.model_copy(
        update={
            "openai": config.settings.openai.model_copy(
                update={"issuer": issuer, "api_base": f"{issuer}/backend-api/codex"}
            ),
            "github": config.settings.github.model_copy(
                update={"web_base": f"{issuer}/github", "api_base": f"{issuer}/github-api"}
            ),
            "xai": config.settings.xai.model_copy(
                update={"issuer": f"{issuer}/xai-auth", "api_base": f"{issuer}/xai/v1"}
            ),
        }
    )
    client = httpx.AsyncClient(transport=StreamingASGITransport(emulator, root_path=EMULATOR_PATH))
    authai = AuthAI(secrets=config.secrets, store=store, settings=settings, http_client=client)
    return _BesideEmulator(authai, emulator)


class _BesideEmulator:
    """`/emulator/*` to the emulator, everything else (lifespan included) to the mount."""

    def __init__(self, authai: AuthAI, emulator: ASGIApp) -> None:
        self.authai = authai
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and (
            path == EMULATOR_PATH or path.startswith(EMULATOR_PATH + "/")
        ):
            root = scope.get("root_path", "") + EMULATOR_PATH
            await self.emulator({**scope, "root_path": root}, receive, send)
            return
        await self.authai(scope, receive, send)
