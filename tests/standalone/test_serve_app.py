"""The standalone server's app and logging, in the test's own process: the routes sit where the
reference relay has them, the emulator mode signs in and answers, and the access log never shows
a sign-in id."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import anyio
import httpx
import pytest

from authai_embed.server.access_log import MaskPollIds, log_config
from authai_embed.server.app import build_app, emulator_issuer
from authai_embed.server.config import ServeConfigError, load_config
from authai_embed.server.run import check_store
from tests._support.loopback import served
from tests._support.services import drop_schema, require_postgres, unique_schema

pytestmark = pytest.mark.anyio

ENV = {
    "AUTH_AI_JWT_SECRET": secrets.token_hex(32),
    "AUTH_AI_IDENTITY_SECRET": secrets.token_hex(32),
    "AUTH_AI_ORIGINATOR": "my-relay",
    "AUTH_AI_DB_URL": "memory://",
    "AUTH_AI_PROVIDERS": "openai,xai",
}


async def test_the_routes_are_at_the_root_as_the_reference_relay_has_them() -> None:
    app = build_app(load_config(ENV))
    async with served(app, lifespan="on") as base, httpx.AsyncClient(base_url=base) as http:
        root = await http.get("/")
        providers = await http.get("/auth/providers")
        v1 = await http.get("/v1/models", headers={"authorization": "Bearer nope"})
        emulator = await http.get("/emulator/codex/device")
    assert root.json() == {"ok": True, "service": "authai-relay"}
    assert [p["id"] for p in providers.json()["providers"]] == ["openai", "xai"]
    assert v1.status_code == 401
    assert emulator.status_code == 404  # no emulator outside emulator mode


async def test_emulator_mode_signs_in_and_answers_a_model_call() -> None:
    config = load_config({"AUTH_AI_EMULATOR": "1", "AUTH_AI_EMULATOR_EVENT_DELAY": "0"})
    app = build_app(config)
    async with served(app, lifespan="on") as base, httpx.AsyncClient(base_url=base) as http:
        started = (await http.post("/auth/start", json={})).json()
        assert started["verificationUrl"] == emulator_issuer(config) + "/codex/device"
        form = {"user_code": started["userCode"], "action": "approve"}
        assert (await http.post("/emulator/codex/device", data=form)).status_code == 200
        polled: dict[str, str] = {"status": "pending"}
        for _ in range(30):
            polled = (await http.get(f"/auth/poll/{started['sessionId']}")).json()
            if polled["status"] != "pending":
                break
            await anyio.sleep(started["pollIntervalMs"] / 1000)
        assert polled["status"] == "complete", polled
        answer = await http.post(
            "/v1/chat/completions",
            headers={"authorization": f"Bearer {polled['jwt']}"},
            json={"model": "gpt-5.4", "messages": [{"role": "user", "content": "hi there"}]},
        )
    assert answer.status_code == 200, answer.text
    assert "hi there" in answer.json()["choices"][0]["message"]["content"]


def test_emulator_issuer_is_reachable_from_this_machine() -> None:
    wildcard = load_config({"AUTH_AI_EMULATOR": "1"}, host="0.0.0.0", port=8080)  # noqa: S104
    assert emulator_issuer(wildcard) == "http://127.0.0.1:8080/emulator"
    ipv6 = load_config({"AUTH_AI_EMULATOR": "1"}, host="::1", port=8080)
    assert emulator_issuer(ipv6) == "http://[::1]:8080/emulator"


def _access_record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )


def test_the_access_log_never_shows_a_sign_in_id() -> None:
    session_id = "hmQ1OIz-ADCUjYjgmnoxHCuTVN69XGd7awxVDtJ3FU4"
    record = _access_record(f"/auth/poll/{session_id}?x=1")
    assert MaskPollIds().filter(record)
    line = record.getMessage()
    assert session_id not in line
    assert "/auth/poll/…" in line
    other = _access_record("/v1/models")
    assert MaskPollIds().filter(other)
    assert "/v1/models" in other.getMessage()


def test_the_log_config_masks_uvicorns_access_handler() -> None:
    config = log_config()
    assert config["handlers"]["access"]["filters"] == ["mask_poll_ids"]
    assert config["filters"]["mask_poll_ids"]["()"].endswith("MaskPollIds")


def test_a_store_is_opened_once_before_serving(tmp_path: Path) -> None:
    database = tmp_path / "relay.db"
    check_store(load_config({**ENV, "AUTH_AI_DB_URL": str(database)}))
    assert database.is_file()  # created and migrated
    (tmp_path / "junk.db").write_bytes(b"no database here" * 300)
    with pytest.raises(ServeConfigError) as info:
        check_store(load_config({**ENV, "AUTH_AI_DB_URL": str(tmp_path / "junk.db")}))
    assert info.value.variable == "AUTH_AI_DB_URL"


@pytest.mark.postgres
def test_the_reference_postgres_driver_opens_and_migrates_the_store() -> None:
    schema = unique_schema()
    env = {
        **ENV,
        "AUTH_AI_DB_DRIVER": "postgres",
        "AUTH_AI_DB_URL": f"{require_postgres()}?schema={schema}",
    }
    try:
        config = load_config(env)
        assert config.store_url.startswith("postgresql://")
        check_store(config)
    finally:
        anyio.run(drop_schema, schema)
