"""A new user following README.md, then docs/quickstart.md, docs/fastapi.md and docs/django.md,
pasting each snippet in order, reaches a streamed reply on each page with no edits.

`scripts/docs_walkthrough.py` walks one page (its safe setup commands, its Python blocks, a
sign-in through the app's own /authai routes, the page's chat) against the emulator served on
loopback, in a process of its own; `scripts/release_smoke.sh` runs it again with the built wheel
in a fresh virtualenv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
WALKTHROUGH = ROOT / "scripts" / "docs_walkthrough.py"


def walk(page: str, cwd: Path) -> dict[str, Any]:
    """Run the walkthrough of `page` on a machine with none of our variables set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_AI_", "DJANGO_"))}
    env["PYTHONPATH"] = str(ROOT / "src")
    done = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [sys.executable, str(WALKTHROUGH), page],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["page"] == page
    assert seen["chat"] == page  # the walk reached the page's chat
    return seen


def assert_streamed(pieces: list[str]) -> None:
    assert len(pieces) > 1, pieces
    assert "".join(pieces).strip(), pieces


def test_the_readme_app_answers_and_its_snippet_streams(tmp_path: Path) -> None:
    seen = walk("README.md", tmp_path)
    assert seen["/api/ask"]["answer"]
    (streams,) = [v for k, v in seen.items() if k.startswith("README.md:")]
    assert_streamed(streams)


def test_the_quickstart_reaches_its_streamed_reply(tmp_path: Path) -> None:
    assert walk("docs/quickstart.md", tmp_path)["reply"].startswith("Echo: ")


@pytest.mark.parametrize("page", ["docs/fastapi.md", "docs/django.md"])
def test_the_pages_chat_route_streams_to_a_signed_in_user(tmp_path: Path, page: str) -> None:
    chat = walk(page, tmp_path)["POST /api/chat"]
    assert chat["status"] == 200
    assert_streamed(chat["pieces"])
