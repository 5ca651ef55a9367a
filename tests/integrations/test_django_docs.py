"""docs/django.md works as written: a `django-admin startproject` project gets the files the page
shows, then a user signs in against the emulator and calls each view (async, streamed, and a
sync one) through the project's ASGI application, with Django's default middleware on.

Django's settings are per process, so the project runs in a subprocess
(`django_docs_driver.py`). `AUTHAI_DJANGO_PYTHON` names another interpreter to run it with too
(a venv with the oldest Django the extra allows, say).
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from authai_embed import Secrets

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "django.md"
DRIVER = Path(__file__).with_name("django_docs_driver.py")
_MARKER = re.compile(r"^# (mysite/[\w/]+\.py)( \(add to the end\))?$")
PYTHONS = [sys.executable, *filter(None, [os.environ.get("AUTHAI_DJANGO_PYTHON")])]


def page_files() -> list[tuple[str, str, bool]]:
    """Each Python block of the page that names a project file: (path, code, appended)."""
    found = []
    for block in re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S):
        first, _, rest = block.partition("\n")
        marker = _MARKER.match(first)
        if marker is not None:
            found.append((marker.group(1), rest, marker.group(2) is not None))
    return found


def build_project(python: str, where: Path) -> Path:
    """`django-admin startproject mysite`, then the page's files written into it."""
    where.mkdir()
    subprocess.run(  # noqa: S603  (our own interpreter, fixed arguments)
        [python, "-m", "django", "startproject", "mysite", str(where)], check=True
    )
    for name, code, appended in page_files():
        path = where / name
        if appended:
            path.write_text(path.read_text() + "\n" + code)
        else:
            path.write_text(code)
    return where


def run(python: str, project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]), **env}
    environ.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(  # noqa: S603
        [python, *args], cwd=project, env=environ, capture_output=True, text=True, timeout=120
    )


def test_the_page_names_every_file_it_shows() -> None:
    assert [name for name, _, _ in page_files()] == [
        "mysite/authai.py",
        "mysite/settings.py",
        "mysite/asgi.py",
        "mysite/views.py",
        "mysite/urls.py",
    ]
    for name, code, _ in page_files():
        # No `...` placeholder a reader would have to fill in.
        nodes = ast.walk(ast.parse(code))
        assert not any(isinstance(n, ast.Constant) and n.value is Ellipsis for n in nodes), name


@pytest.mark.parametrize("python", PYTHONS, ids=lambda p: Path(p).parent.parent.name)
def test_the_project_signs_in_and_chats(tmp_path: Path, python: str) -> None:
    project = build_project(python, tmp_path / "mysite")
    done = run(python, project, str(DRIVER))
    assert done.returncode == 0, done.stderr[-3000:]
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["anonymous_me"] == {"signed_in": False}
    assert seen["anonymous_chat"] == [401, {"detail": "unauthorized"}]
    assert seen["me"]["signed_in"] is True
    assert seen["me"]["provider"] == "openai"
    status, content_type, text = seen["chat"]
    assert (status, content_type) == (200, "text/plain; charset=utf-8")
    assert text
    assert seen["summary"][0] == 200
    assert seen["summary"][1]["summary"]


@pytest.mark.parametrize("python", PYTHONS, ids=lambda p: Path(p).parent.parent.name)
def test_manage_py_check_reports_missing_secrets(tmp_path: Path, python: str) -> None:
    project = build_project(python, tmp_path / "mysite")
    missing = run(python, project, "manage.py", "check", AUTH_AI_JWT_SECRET="")
    assert missing.returncode != 0
    assert "authai_embed.E002" in missing.stderr
    assert "AUTH_AI_JWT_SECRET is not set" in missing.stderr
    secrets = Secrets.generate()
    fine = run(
        python,
        project,
        "manage.py",
        "check",
        AUTH_AI_JWT_SECRET=secrets.signing_key.secret.hex(),
        AUTH_AI_IDENTITY_SECRET=secrets.identity_key.hex(),
    )
    assert fine.returncode == 0, fine.stderr
    assert "no issues" in fine.stdout


def test_ci_runs_the_page_on_the_oldest_django_too() -> None:
    """`.ci/run` gives this module a second interpreter with Django 4.2 (the oldest the `django`
    extra allows), so the page is proven on the oldest and the newest release in every CI run."""
    ci = (ROOT / ".ci" / "run").read_text()
    assert "'django>=4.2,<4.3'" in ci
    assert "export AUTHAI_DJANGO_PYTHON=" in ci
    assert '"django>=4.2"' in (ROOT / "pyproject.toml").read_text()
    other = os.environ.get("AUTHAI_DJANGO_PYTHON")
    if other:
        version = subprocess.run(  # noqa: S603  (the interpreter CI names)
            [other, "-c", "import django; print(django.get_version())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert version.startswith("4.2."), version
