"""`store_from_url`: pick a store from a URL such as `AUTH_AI_DB_URL`.

SQLite URLs follow SQLAlchemy's (a fourth slash makes the path absolute); PostgreSQL URLs are
asyncpg's plus an optional `schema` parameter. Error messages name the scheme only, never the
whole URL, which may hold a password.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authai_embed.errors import ConfigError
from authai_embed.stores.base import AuthStore
from authai_embed.stores.memory import MemoryStore
from authai_embed.stores.postgres import PostgresStore
from authai_embed.stores.sqlite import SQLiteStore

__all__ = ["store_from_url"]

_ACCEPTED = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite:///:memory:,"
    " postgresql://user:password@host:5432/database or memory://"
)


def store_from_url(url: str) -> AuthStore:
    """A store for `url`:

    - `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, `sqlite:///:memory:`
    - `postgresql://user:password@host:5432/database` (or `postgres://`), with an optional
      `?schema=name` (default `authai`); other query parameters go to asyncpg as they are.
      The store needs the `postgres` extra when it is opened, not here.
    - `memory://` (nothing persists)

    Raises `ConfigError` for anything else, or for a schema name that is not a plain identifier.
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
    if scheme in ("postgres", "postgresql"):
        return _postgres_store(url.strip())
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


def _postgres_store(url: str) -> PostgresStore:
    """A PostgresStore for a `postgres(ql)://` URL, its `schema` parameter taken out."""
    parts = urlsplit(url)
    if not parts.netloc and not parts.query:
        raise ConfigError(
            "the postgresql store URL names no server: use"
            " postgresql://user:password@host:5432/database[?schema=authai]"
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for name, value in query if name == "schema"]
    if len(schemas) > 1:
        raise ConfigError("the postgresql store URL gives ?schema= more than once")
    if not schemas:
        return PostgresStore(url)
    rest = urlencode([(name, value) for name, value in query if name != "schema"])
    return PostgresStore(urlunsplit(parts._replace(query=rest)), schema=schemas[0])
