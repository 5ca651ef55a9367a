"""`.env` files: one format (`KEY=value`) on every page, and one documented way to load it,
`uvicorn --env-file .env` (python-dotenv, in the fastapi and django extras)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import tomllib
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette

from authai_embed import MemoryStore, mount_authai
from authai_embed.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SECRET_VARS = ("AUTH_AI_JWT_SECRET", "AUTH_AI_IDENTITY_SECRET")


def test_every_page_writes_env_lines_and_says_how_they_are_loaded() -> None:
    writes = {
        page.name: re.findall(r"^authai-embed secrets.*>>\s*\.env.*$", page.read_text(), re.M)
        for page in PAGES
    }
    writing = {name: lines for name, lines in writes.items() if lines}
    assert {"quickstart.md", "fastapi.md", "django.md"} <= set(writing)
    for name, lines in writing.items():
        for line in lines:
            assert "--format env" in line, f"{name}: {line}"
        assert "--env-file .env" in (ROOT / "docs" / name).read_text(), name
    for page in PAGES:
        assert not re.search(r"^export AUTH_AI_", page.read_text(), re.M), page.name


def test_the_server_extras_bring_the_env_file_loader() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for extra in ("fastapi", "django"):
        assert any(d.startswith("python-dotenv") for d in extras[extra]), extra


def test_uvicorn_env_file_gives_the_mount_its_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the docs say, end to end: the CLI's lines in a file, `--env-file`, no secrets=."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["secrets", "--format", "env"]) == 0
    env_file = tmp_path / ".env"
    env_file.write_text(out.getvalue() + "AUTH_AI_PROVIDERS=openai,github\n")
    for var in (*SECRET_VARS, "AUTH_AI_PROVIDERS"):
        monkeypatch.delenv(var, raising=False)
    try:
        uvicorn.Config("main:app", env_file=str(env_file), log_config=None)
        written = dict(line.split("=", 1) for line in out.getvalue().splitlines())
        assert os.environ["AUTH_AI_JWT_SECRET"] == written["AUTH_AI_JWT_SECRET"]
        authai = mount_authai(Starlette(), store=MemoryStore())
        assert authai.secrets.signing_key.secret == bytes.fromhex(written["AUTH_AI_JWT_SECRET"])
        assert list(authai.providers) == ["openai", "github"]
    finally:
        for var in (*SECRET_VARS, "AUTH_AI_PROVIDERS"):
            os.environ.pop(var, None)
