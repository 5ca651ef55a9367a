"""The framework glue needs one store, not each: these tests run on the memory store."""

from __future__ import annotations

import pytest

from authai_embed import AuthStore, MemoryStore


@pytest.fixture
def store() -> AuthStore:
    return MemoryStore()
