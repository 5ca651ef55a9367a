"""`--workers N` runs N processes on one port, each building the app from the same environment,
all sharing one store; SIGTERM stops every one of them gracefully."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from tests._support.serve_process import free_port, serving
from tests._support.services import require_service

pytestmark = pytest.mark.e2e
REDIS_URL = "redis://127.0.0.1:6379/0"


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


@pytest.mark.redis
def test_two_workers_on_one_redis_share_the_sign_in_limit(tmp_path: Path) -> None:
    """`AUTH_AI_RATE_LIMIT_URL`: 14 sign-ins from one address, each on a new connection (so
    either worker may take it), and exactly `auth_start`'s 10 get past the limit, not 10 per
    worker. The provider is a closed loopback port: a sign-in past the limit fails there."""
    require_service("Redis", REDIS_URL, 6379)
    import redis

    app_id = f"test-{secrets.token_hex(6)}"  # its keys are authai:rl:<app_id>:*, no one else's
    env = {
        "AUTH_AI_JWT_SECRET": secrets.token_hex(32),
        "AUTH_AI_IDENTITY_SECRET": secrets.token_hex(32),
        "AUTH_AI_ORIGINATOR": "my-relay",
        "AUTH_AI_DB_URL": str(tmp_path / "relay.db"),
        "AUTH_AI_RATE_LIMIT_URL": REDIS_URL,
        "AUTH_AI_APP_ID": app_id,
        "AUTH_AI_OPENAI_ISSUER": f"http://127.0.0.1:{free_port()}",
    }
    try:
        with serving("--workers", "2", env=env) as served:
            statuses = [
                httpx.post(served.base_url + "/auth/start", json={}, timeout=10).status_code
                for _ in range(14)
            ]
            err = served.stop()
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        client.delete(*client.keys(f"authai:rl:{app_id}:*") or ["-"])
        client.close()
    assert statuses.count(429) == 4, statuses
    assert "2 worker(s), sqlite store, redis rate limits" in err
