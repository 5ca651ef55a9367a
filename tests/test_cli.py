from __future__ import annotations

import subprocess
import sys
import time

import pytest

from authai_embed import Secrets
from authai_embed.cli import main
from authai_embed.stores.sqlite import SCHEMA_VERSION


def test_secrets_prints_usable_environment_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secrets", "--format", "env"]) == 0
    out = capsys.readouterr().out
    env = dict(line.split("=", 1) for line in out.strip().splitlines())
    secrets = Secrets.from_env(env)
    assert len(secrets.signing_key.secret) == 32
    assert secrets.identity_key != secrets.signing_key.secret


def test_the_installed_command_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "authai_embed.cli", "secrets"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.count("export AUTH_AI_") == 2


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_store_migrate_then_doctor(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    db = Path(str(tmp_path)) / "cli.db"
    assert main(["store", "migrate", "--db", f"sqlite:///{db}"]) == 0
    assert f"schema_version: {SCHEMA_VERSION}" in capsys.readouterr().out
    assert main(["store", "doctor", "--db", f"sqlite:///{db}"]) == 0
    out = capsys.readouterr().out
    assert "records: 0" in out
    assert "status: ok" in out


def test_store_doctor_on_a_broken_file_fails_cleanly(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    db = Path(str(tmp_path)) / "junk.db"
    db.write_bytes(b"this is not a database, secret-ish content" * 100)
    assert main(["store", "doctor", "--db", f"sqlite:///{db}"]) == 1
    err = capsys.readouterr().err
    assert "cannot open SQLite store" in err
    assert "secret-ish" not in err
    assert "Traceback" not in err


def test_store_sweep_deletes_what_has_expired(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    import anyio

    from authai_embed import SQLiteStore
    from tests.stores.test_stores import make_record

    db = Path(str(tmp_path)) / "sweep.db"

    async def seed() -> None:
        store = SQLiteStore(db)
        await store.open()
        try:
            await store.put_record(make_record(expires_at=1.0))  # long expired
            await store.put_record(make_record(account="other", expires_at=time.time() + 3600))
        finally:
            await store.close()

    anyio.run(seed)
    assert main(["store", "sweep", "--db", f"sqlite:///{db}"]) == 0
    assert "removed: 1" in capsys.readouterr().out
    assert main(["store", "doctor", "--db", f"sqlite:///{db}"]) == 0
    assert "records: 1" in capsys.readouterr().out
