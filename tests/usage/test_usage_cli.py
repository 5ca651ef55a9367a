"""`authai-embed usage`: the ledger of the store at `--db` (or AUTH_AI_DB_URL), as a table,
CSV or JSON, for one user or all, over a range of UTC days."""

from __future__ import annotations

import csv
import datetime
import io
import json
from pathlib import Path

import anyio
import pytest

from authai_embed import SQLiteStore, UsageRow
from authai_embed.cli import main

TODAY = datetime.datetime.now(datetime.UTC).date().isoformat()
ROWS = [
    UsageRow("alice", "openai", "gpt-5.4", "2026-01-02", requests=3, input_tokens=30),
    UsageRow("bob", "github", "gpt-5.4", "2026-01-02", requests=1, errors=1, rate_limited=1),
    UsageRow("alice", "openai", "gpt-5.4", "2026-01-05", requests=2, output_tokens=7),
    UsageRow("alice", "openai", "gpt-5.4", TODAY, requests=9),
]


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "usage.db"

    async def fill() -> None:
        store = SQLiteStore(path)
        await store.open()
        try:
            await store.add_usage(ROWS)
        finally:
            await store.close()

    anyio.run(fill)
    return f"sqlite:///{path}"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["usage", *args]) == 0
    return capsys.readouterr().out


def test_json_rows_of_one_user_in_a_range(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(
        capsys,
        "--db",
        db,
        "--user",
        "alice",
        "--since",
        "2026-01-01",
        "--until",
        "2026-01-31",
        "--format",
        "json",
    )
    rows = json.loads(out)
    assert [(r["day"], r["requests"]) for r in rows] == [("2026-01-02", 3), ("2026-01-05", 2)]
    assert rows[0]["input_tokens"] == 30


def test_csv_of_every_user(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(
        capsys, "--db", db, "--since", "2026-01-02", "--until", "2026-01-02", "--format", "csv"
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["user_id"], r["requests"], r["rate_limited"]) for r in rows] == [
        ("alice", "3", "0"),
        ("bob", "1", "1"),
    ]


def test_the_default_is_a_table_of_the_last_30_days(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_AI_DB_URL", db)
    lines = run(capsys).splitlines()
    assert lines[0].split() == [
        "user_id",
        "provider",
        "model",
        "day",
        "requests",
        "input_tokens",
        "cached_input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "errors",
        "rate_limited",
    ]
    assert len(lines) == 2
    assert lines[1].split()[:5] == ["alice", "openai", "gpt-5.4", TODAY, "9"]


def test_a_bad_day_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["usage", "--since", "yesterday"])
    assert info.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_an_unreachable_store_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}"
    assert main(["usage", "--db", url]) == 1
    assert "authai-embed usage:" in capsys.readouterr().err


def test_store_sweep_drops_usage_past_its_retention(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_AI_USAGE_RETENTION_DAYS", "7")
    assert main(["store", "sweep", "--db", db]) == 0
    assert "removed: 3" in capsys.readouterr().out  # the three 2026-01 rows
    out = run(capsys, "--db", db, "--since", "2000-01-01", "--format", "json")
    assert [r["day"] for r in json.loads(out)] == [TODAY]
