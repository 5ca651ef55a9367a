"""Start uvicorn for `authai-embed serve`, after checking everything that can be checked first.

The store is opened once before serving (running its migrations), so a wrong database fails
here with one line instead of in every worker. SIGTERM and Ctrl+C are uvicorn's graceful
shutdown: stop accepting, let open requests and streams finish for up to `shutdown_grace`
seconds, then cancel what is left and close the store.
"""

from __future__ import annotations

import sys
from typing import Any

import anyio

from authai_embed.errors import AuthAIError
from authai_embed.server.access_log import log_config
from authai_embed.server.app import build_app, create_app, emulator_issuer
from authai_embed.server.config import ServeConfig, ServeConfigError
from authai_embed.server.gc_tuning import tune_gc
from authai_embed.stores.url import store_from_url
from authai_embed.types import ASGIApp

__all__ = ["check_store", "serve", "worker_app"]

FACTORY = "authai_embed.server.run:worker_app"


def worker_app() -> ASGIApp:
    """One worker's app (`create_app`), with the collector tuned for serving (`tune_gc`) once
    it is built."""
    app = create_app()
    tune_gc()
    return app


def check_store(config: ServeConfig) -> None:
    """Open and close the store once (migrating it); `ServeConfigError` naming
    `AUTH_AI_DB_URL` when that fails."""
    if config.store_url.startswith("memory:"):
        return

    async def probe() -> None:
        store = store_from_url(config.store_url)
        await store.open()
        await store.close()

    try:
        anyio.run(probe)
    except (AuthAIError, OSError) as exc:
        raise ServeConfigError("AUTH_AI_DB_URL", f"the store cannot be opened: {exc}") from None


def serve(config: ServeConfig) -> int:
    """Serve until stopped; the exit status. Needs the `serve` extra (uvicorn)."""
    try:
        import uvicorn
    except ImportError:
        print(
            "authai-embed serve: uvicorn is missing: pip install 'authai-embed[serve]'",
            file=sys.stderr,
        )
        return 2
    check_store(config)
    store = config.store_url.partition(":")[0]
    # Never the limiter's URL: it may hold a password.
    limits = "redis" if config.settings.rate_limit_url else "in-memory"
    print(
        f"authai-embed serve: http://{config.host}:{config.port} ({config.workers} worker(s),"
        f" {store} store, {limits} rate limits, originator {config.settings.originator})",
        file=sys.stderr,
        flush=True,
    )
    if config.emulator:
        print(
            f"authai-embed serve: emulator mode; approve codes at"
            f" {emulator_issuer(config)}/codex/device",
            file=sys.stderr,
            flush=True,
        )
    options: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "timeout_graceful_shutdown": config.shutdown_grace,
        "proxy_headers": True,
        "forwarded_allow_ips": config.forwarded_allow_ips,
        "log_config": log_config(),
        "server_header": False,
    }
    if config.workers == 1:
        app = build_app(config)
        tune_gc()
        uvicorn.run(app, **options)
    else:  # each worker builds its app from the same environment
        uvicorn.run(FACTORY, factory=True, workers=config.workers, **options)
    return 0
