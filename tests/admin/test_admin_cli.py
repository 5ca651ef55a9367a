"""`authai-embed pause|resume|controls|users|revoke-user|audit` on a SQLite file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import anyio
import pytest

from authai_embed import SQLiteStore
from authai_embed.cli import build_parser, main
from tests.stores.test_stores import make_record


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'authai.db'}"


def test_pause_controls_resume_and_the_audit(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["pause", "--signins", "--until", "2999-01-01T00:00", "--db", db, "--by", "ann"]) == 0
    )
    assert "paused: signins  until: 2999-01-01T00:00:00+00:00  by: ann" in capsys.readouterr().out
    assert main(["pause", "--provider", "github", "--db", db, "--by", "ann"]) == 0
    capsys.readouterr()

    assert main(["controls", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "paused: models:github  until: -  by: ann" in out
    assert "paused: signins" in out

    assert main(["resume", "--signins", "--db", db, "--by", "ben"]) == 0
    assert main(["resume", "--provider", "github", "--db", db, "--by", "ben"]) == 0
    assert main(["resume", "--db", db, "--by", "ben"]) == 0
    assert capsys.readouterr().out.endswith("it was not paused\nnothing is paused\n")

    assert main(["audit", "--db", db, "--format", "json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [(e["by"], e["action"], e["target"]) for e in entries] == [
        ("ann", "pause", "signins"),
        ("ann", "pause", "models:github"),
        ("ben", "resume", "signins"),
        ("ben", "resume", "models:github"),
        ("ben", "resume", "models"),
    ]
    assert entries[0]["detail"] == "until 2999-01-01T00:00:00+00:00"
    assert main(["audit", "--db", db, "--since", "2999-01-01"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["audit", "--db", db, "--limit", "1"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.endswith("  ben  resume  models  (was not paused)")


def test_users_lists_the_live_users(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    async def seed() -> None:
        store = SQLiteStore(db.removeprefix("sqlite:///"))
        await store.open()
        now = time.time()
        for account in ("ann", "ann", "ben"):
            await store.put_record(make_record(account=account, created_at=now))
        await store.close()

    anyio.run(seed)
    assert main(["users", "--db", db, "--format", "json"]) == 0
    users = json.loads(capsys.readouterr().out)
    assert sorted((u["id"], u["sessions"]) for u in users) == [("ann", 2), ("ben", 1)]
    assert main(["users", "--db", db]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("user id")
    assert len(table) == 3


def test_bad_input_fails_with_a_message(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pause", "--provider", "nope", "--db", db]) == 2
    assert "unknown provider 'nope'" in capsys.readouterr().err
    assert main(["pause", "--until", "2001-01-01", "--db", db]) == 2
    assert "until must be in the future" in capsys.readouterr().err


def test_revoke_user_needs_the_secrets(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTH_AI_JWT_SECRET", raising=False)
    monkeypatch.delenv("AUTH_AI_IDENTITY_SECRET", raising=False)
    assert main(["revoke-user", "someone", "--db", db]) == 1
    assert "AUTH_AI_JWT_SECRET" in capsys.readouterr().err


def test_an_id_that_starts_with_a_dash_goes_after_double_dash() -> None:
    """User ids are base64url: one in 64 starts with "-", which argparse takes for an option."""
    parser = build_parser()
    args = parser.parse_args(["revoke-user", "--by", "ops", "--", "-2jmKlr1CrgfJSwCP5us"])
    assert (args.command, args.user_id) == ("revoke-user", "-2jmKlr1CrgfJSwCP5us")
    assert parser.parse_args(["usage", "--user=-2jmKlr1C"]).user == "-2jmKlr1C"
