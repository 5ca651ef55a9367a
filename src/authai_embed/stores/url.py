"""`store_from_url`: pick a store from a URL such as `AUTH_AI_DB_URL`."""

from __future__ import annotations

from authai_embed.errors import ConfigError

from .base import AuthStore
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["store_from_url"]


def store_from_url(url: str) -> AuthStore:
    """A store for `url`:

    - `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, `sqlite:///:memory:`
    - `memory://` (nothing persists)

    Raises `ConfigError` for anything else.
    """
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not path:
            raise ConfigError("sqlite URL needs a path: sqlite:///authai.db")
        return SQLiteStore(path)
    if url in ("memory://", "memory:"):
        return MemoryStore()
    if url.startswith(("postgres://", "postgresql://")):
        raise ConfigError(
            "PostgreSQL is not supported by this version yet; use sqlite:///authai.db"
        )
    raise ConfigError(
        f"unsupported store URL scheme in {url.split(':', 1)[0]!r}: use "
        "sqlite:///path.db or memory://"
    )
