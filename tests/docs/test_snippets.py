"""Every Python block of README.md and docs/*.md works when pasted, in order, on a fresh machine.

Each page runs in a temporary working directory with fresh secrets in the environment (the
pages say "set AUTH_AI_JWT_SECRET and AUTH_AI_IDENTITY_SECRET"), against the bundled upstream
emulator wherever a block calls a provider. How blocks are marked: `tests/_support/doc_snippets.py`.
"""

from __future__ import annotations

import inspect
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from types import CodeType
from typing import Any

import anyio
import httpx
import pytest

from authai_embed import AuthAI, MemoryStore, Secrets, StreamingASGITransport
from authai_embed.testing import Emulator, ManualClock
from tests._support.doc_snippets import (
    Block,
    blocks,
    compile_block,
    page_name,
    pages,
    unresolved_imports,
)
from tests._support.harness import ISSUER, PROVIDERS, START, build_harness

PAGES = [page for page in pages() if blocks(page)]

EXPECTED: dict[str, tuple[str, ...]] = {
    "docs/quickstart.md": ("reply",),
    "docs/testing.md": ("jwt", "retry_after"),
}
"""Names a page's blocks must leave non-empty: what the page says its code reaches."""

PAGE_TIMEOUT = 60.0


class Run:
    """One page's run: its namespace, the `AuthAI` objects it made, and the checks it did."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.namespace: dict[str, Any] = {"__name__": "__doc_snippet__"}
        self.made: list[AuthAI] = []
        self.checked: list[str] = []

    async def block(self, block: Block) -> None:
        code = compile_block(block)
        if block.kind == "file":
            assert block.file is not None
            target = self.cwd / block.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.source)
        if block.kind in ("file", "fragment"):
            assert unresolved_imports(block, self.cwd) == [], f"{block.where}: unresolved"
        elif block.kind == "signed-in":
            for provider in PROVIDERS:
                await self._signed_in(block, code, provider)
        else:
            await self._exec(block, code, self.namespace)
        self.checked.append(block.where)

    async def _signed_in(self, block: Block, code: CodeType, provider: str) -> None:
        clock = ManualClock(START)
        harness = build_harness(
            emulator=Emulator(clock=clock, issuer=ISSUER),
            store=MemoryStore(),
            secrets=Secrets.generate(),
            clock=clock,
        )
        try:
            jwt = await harness.sign_in(provider=provider)
            namespace = {**self.namespace, "authai": harness.authai, "jwt": jwt}
            await self._exec(block, code, namespace, f" (signed in with {provider})")
        finally:
            await harness.aclose()

    async def _exec(
        self, block: Block, code: CodeType, namespace: dict[str, Any], context: str = ""
    ) -> None:
        try:
            # The page's own code, run as a user pasting it would (the asyncio REPL's way).
            result = eval(code, namespace)  # noqa: S307
            if inspect.iscoroutine(result):
                await result
        except Exception as exc:
            raise AssertionError(f"{block.where}{context}: {exc!r}") from exc
        finally:
            self.made.extend(
                value
                for value in namespace.values()
                if isinstance(value, AuthAI) and all(value is not m for m in self.made)
            )

    async def exercise_apps(self) -> None:
        """Serve one request to each app the page built: the mount answers at /authai/."""
        if not self.made:
            return
        for name in ("app", "application"):
            app = self.namespace.get(name)
            if app is None or not callable(app):
                continue
            transport = StreamingASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as c:
                answer = await c.get("/authai/")
            assert answer.status_code == 200, f"{name}: GET /authai/ answered {answer.status_code}"
            self.checked.append(f"{name} serves /authai/")

    async def aclose(self) -> None:
        for authai in self.made:
            await authai.shutdown()
            await authai.http.aclose()


@pytest.fixture
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh machine: an empty working directory and only the secrets the pages ask for."""
    for name in list(os.environ):
        if name.startswith(("AUTH_AI_", "DJANGO_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AUTH_AI_JWT_SECRET", secrets.token_hex(32))
    monkeypatch.setenv("AUTH_AI_IDENTITY_SECRET", secrets.token_hex(32))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        origin = getattr(sys.modules[name], "__file__", None) or ""
        if origin.startswith(str(tmp_path)) or name.split(".")[0] in _local_packages(tmp_path):
            del sys.modules[name]


def _local_packages(root: Path) -> set[str]:
    return {p.stem for p in root.iterdir()}


@pytest.mark.anyio
@pytest.mark.parametrize("page", PAGES, ids=page_name)
async def test_every_python_block_runs_pasted_in_order(page: Path, hermetic: Path) -> None:
    run = Run(hermetic)
    try:
        with anyio.fail_after(PAGE_TIMEOUT):
            for block in blocks(page):
                await run.block(block)
            await run.exercise_apps()
    finally:
        await run.aclose()
    assert len(run.checked) >= len(blocks(page))
    for name in EXPECTED.get(page_name(page), ()):
        assert run.namespace.get(name), f"{page_name(page)} never reaches `{name}`"
