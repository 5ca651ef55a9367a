"""`--workers N` runs N processes on one port, each building the app from the same environment,
all sharing one store; SIGTERM stops every one of them gracefully."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from tests._support.serve_process import serving

pytestmark = pytest.mark.e2e


def test_two_workers_serve_from_one_store_and_stop_together(tmp_path: Path) -> None:
    env = {
        "AUTH_AI_JWT_SECRET": secrets.token_hex(32),
        "AUTH_AI_IDENTITY_SECRET": secrets.token_hex(32),
        "AUTH_AI_ORIGINATOR": "my-relay",
        "AUTH_AI_DB_URL": str(tmp_path / "relay.db"),
    }
    with serving("--workers", "2", env=env) as served:
        answers = [httpx.get(served.base_url + "/auth/providers") for _ in range(4)]
        err = served.stop()
    assert {a.status_code for a in answers} == {200}
    assert (tmp_path / "relay.db").is_file()  # migrated once, before the workers started
    # The parent stops both children (stop() checked a graceful shutdown happened).
    assert err.count("Terminated child process") == 2
