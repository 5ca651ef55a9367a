"""Credential stores: the `AuthStore` protocol and its implementations."""

from __future__ import annotations

from authai_embed.stores.base import AuthStore, LoginStatus, PendingLogin, Record, UsageRow
from authai_embed.stores.memory import MemoryStore
from authai_embed.stores.postgres import PostgresStore
from authai_embed.stores.sqlite import SQLiteStore
from authai_embed.stores.url import store_from_url

__all__ = [
    "AuthStore",
    "LoginStatus",
    "MemoryStore",
    "PendingLogin",
    "PostgresStore",
    "Record",
    "SQLiteStore",
    "UsageRow",
    "store_from_url",
]
