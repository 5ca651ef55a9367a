"""The usage tests run over every store: memory, SQLite and PostgreSQL (the shared `store`
fixture of `tests/conftest.py` has the first two)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from authai_embed import AuthStore, MemoryStore, PostgresStore, SQLiteStore
from tests._support.services import drop_schema, require_postgres, unique_schema


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AuthStore]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        yield SQLiteStore(tmp_path / "authai.db")
    else:
        made = PostgresStore(require_postgres(), schema=unique_schema())
        try:
            yield made
        finally:
            await made.close()
            await drop_schema(made.schema)
