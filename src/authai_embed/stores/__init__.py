"""Credential stores: the `AuthStore` protocol and its implementations."""

from __future__ import annotations

from .base import AuthStore, LoginStatus, PendingLogin, Record
from .memory import MemoryStore
from .postgres import PostgresStore
from .sqlite import SQLiteStore
from .url import store_from_url

__all__ = [
    "AuthStore",
    "LoginStatus",
    "MemoryStore",
    "PendingLogin",
    "PostgresStore",
    "Record",
    "SQLiteStore",
    "store_from_url",
]
