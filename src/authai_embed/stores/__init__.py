"""Credential stores: the `AuthStore` protocol and its implementations."""

from __future__ import annotations

from .base import AuthStore, LoginStatus, PendingLogin, Record

__all__ = ["AuthStore", "LoginStatus", "PendingLogin", "Record"]
