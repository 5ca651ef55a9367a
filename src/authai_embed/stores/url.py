"""`store_from_url`: pick a store from a URL such as `AUTH_AI_DB_URL`.

The SQLite forms follow SQLAlchemy's: three slashes then the path, so a fourth slash makes it
absolute. Error messages name the scheme only, never the whole URL, which may hold a password.
"""

from __future__ import annotations

from authai_embed.errors import ConfigError

from .base import AuthStore
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["store_from_url"]

_ACCEPTED = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite:///:memory: or memory://"
)


def store_from_url(url: str) -> AuthStore:
    """A store for `url`:

    - `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, `sqlite:///:memory:`
    - `memory://` (nothing persists)

    Raises `ConfigError` for anything else.
    """
    scheme, colon, rest = url.strip().partition(":")
    scheme = scheme.lower()
    if not colon:
        raise ConfigError(f"the store URL has no scheme: use {_ACCEPTED}")
    if scheme == "sqlite":
        return SQLiteStore(_sqlite_path(rest))
    if scheme == "memory":
        if rest not in ("", "//"):
            raise ConfigError("the memory store URL is just memory:// (nothing after it)")
        return MemoryStore()
    if scheme.startswith("postgres"):
        raise ConfigError(
            "PostgresStore is not in this version of authai_embed: it arrives with the `postgres`"
            " extra (pip install 'authai-embed[postgres]') in a later release. On one host, use"
            " sqlite:///authai.db meanwhile"
        )
    raise ConfigError(f"unsupported store URL scheme {scheme!r}: use {_ACCEPTED}")


def _sqlite_path(rest: str) -> str:
    """The file path of a `sqlite:` URL, from what follows the colon."""
    if not rest.startswith("///"):
        raise ConfigError(
            "a sqlite store URL has three slashes before the path: sqlite:///relative.db,"
            " sqlite:////absolute.db, or sqlite:///:memory: for a throwaway store"
        )
    path = rest[3:]
    if not path or path == "/":
        raise ConfigError("the sqlite store URL has no path: use sqlite:///authai.db")
    if "?" in path or "#" in path:
        raise ConfigError(
            "sqlite store URLs take no query or fragment; pass options to SQLiteStore() instead"
        )
    return path
