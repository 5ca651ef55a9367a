"""Follow one page (README.md, docs/quickstart.md, docs/fastapi.md or docs/django.md) as a new
user would, and reach a streamed reply through the app it builds, with no edit to any snippet.

In an empty directory: run the page's setup commands that are safe here (`authai-embed
secrets`, `django-admin startproject`, `set -a && . ./.env`; never `pip install`), load the
`.env` they wrote as `uvicorn --env-file .env` would, then paste the page's Python blocks in
order (the harness of `tests/_support/doc_snippets.py`: a file block is written, a fragment only
compiled). The providers are the bundled emulator served by uvicorn on a loopback port, and the
page's code reaches it through `AUTH_AI_OPENAI_*` variables alone. A user signs in through the
app's own `/authai` routes (start, approve on the emulator, poll), then the page's chat (its
route, or its `signed-in` block with the page's own `authai`) must stream a non-empty reply in
more than one piece. Prints one JSON line of what it saw; exits non-zero on any failure.

Usage: python scripts/docs_walkthrough.py PAGE [--root REPO] [--installed]
`--installed` also requires `authai_embed` to come from outside REPO (a fresh virtualenv, as
`scripts/release_smoke.sh` runs it). Runs each page in a process of its own: Django's settings
and the page's modules are per process.
"""

from __future__ import annotations

import argparse
import asyncio
import builtins
import importlib.util
import inspect
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import uvicorn

import authai_embed
from authai_embed import AuthAI, StreamingASGITransport
from authai_embed.testing import Emulator

BASE = "http://127.0.0.1"  # in DEBUG, Django's default ALLOWED_HOSTS accept it
SAFE_COMMANDS = re.compile(
    r'^(eval "\$\(authai-embed secrets|authai-embed secrets|django-admin startproject|set -a)'
)
APPENDED = re.compile(r"^#\s*([\w./-]+\.py) \(add to the end\)\s*$")
QUESTION = "Say hello in a few words"


def load_snippets(root: Path) -> ModuleType:
    """tests/_support/doc_snippets.py (standard library only), loaded from the checkout."""
    path = root / "tests" / "_support" / "doc_snippets.py"
    spec = importlib.util.spec_from_file_location("doc_snippets", path)
    assert spec is not None, path
    assert spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules["doc_snippets"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run_setup(page: Path, cwd: Path) -> Path:
    """The page's safe setup commands in one bash, as typed; their variables join ours."""
    fences = re.findall(r"^```bash\n(.*?)^```", page.read_text(), re.M | re.S)
    lines = [line for fence in fences for line in fence.splitlines() if SAFE_COMMANDS.match(line)]
    state = cwd / ".walkthrough"
    script = "\n".join([*lines, f'pwd > "{state}.cwd"', f'env -0 > "{state}.env"'])
    bindir = str(Path(sys.executable).parent)  # authai-embed, django-admin of this python
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, check=True)  # noqa: S603, S607
    for entry in Path(f"{state}.env").read_text().split("\0"):
        name, _, value = entry.partition("=")
        if name.startswith(("AUTH_AI_", "DJANGO_")):
            os.environ[name] = value
    where = Path(Path(f"{state}.cwd").read_text().strip())
    dotenv = where / ".env"
    if dotenv.exists():  # `uvicorn main:app --env-file .env`, as the pages serve it
        from dotenv import dotenv_values

        os.environ.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    return where


@asynccontextmanager
async def served(emulator: Emulator) -> AsyncIterator[str]:
    """The emulator on a free loopback port, for as long as the block runs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(emulator, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve([sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Walk:
    """One page's walk: its namespace, what it printed, and what the walk saw."""

    page: Path
    cwd: Path
    emulator: Emulator
    namespace: dict[str, Any] = field(default_factory=lambda: {"__name__": "__main__"})
    printed: list[str] = field(default_factory=list)
    seen: dict[str, Any] = field(default_factory=dict)
    sent: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.namespace["print"] = self._print

    def _print(self, *args: Any, end: str = "\n", **_: Any) -> None:
        """The page's `print`, kept piece by piece: a streamed reply prints one per chunk."""
        self.printed.append(" ".join(map(str, args)) + end)
        builtins.print(*args, end=end, file=sys.stderr)

    def app(self) -> Any:
        """The application the page serves: `app`, `application`, or its `asgi.py`'s."""
        for name in ("app", "application"):
            if callable(self.namespace.get(name)):
                return self.namespace[name]
        asgi = next(self.cwd.glob("*/asgi.py"))
        sys.path.insert(0, str(self.cwd))
        module = importlib.import_module(f"{asgi.parent.name}.asgi")
        return module.application

    async def sign_in(self) -> str:
        """A user signs in through the app's own /authai routes, as the browser would."""
        async with self.browser() as web:
            started = (await web.post("/authai/auth/start", json={"provider": "openai"})).json()
            self.emulator.approve(started["userCode"])  # the user, on the emulator's page
            polled: dict[str, Any] = {"status": "pending"}
            while polled["status"] == "pending":
                await asyncio.sleep(started["pollIntervalMs"] / 1000)
                polled = (await web.get(f"/authai/auth/poll/{started['sessionId']}")).json()
        assert polled["status"] == "complete", polled
        jwt: str = polled["jwt"]
        return jwt

    def browser(self) -> httpx.AsyncClient:
        transport = StreamingASGITransport(self.recorded(self.app()))
        return httpx.AsyncClient(transport=transport, base_url=BASE, timeout=30)

    def recorded(self, app: Any) -> Any:
        """The app, with each piece of body it sends kept: how many sends made a reply does
        not depend on how fast the reader was (the transport joins what is already waiting)."""

        async def wrapper(scope: Any, receive: Any, send: Any) -> None:
            async def keep(message: Any) -> None:
                if message["type"] == "http.response.body" and message.get("body"):
                    self.sent.append(message["body"])
                await send(message)

            await app(scope, receive, keep)

        return wrapper

    async def run(self, source: str, where: str, namespace: dict[str, Any]) -> None:
        code = compile(source, where, "exec", flags=0x2000)  # PyCF_ALLOW_TOP_LEVEL_AWAIT
        result = eval(code, namespace)  # noqa: S307  (the page's own code, pasted)
        if inspect.iscoroutine(result):
            await result

    async def stream_chat(self, path: str, **request: Any) -> None:
        """POST to the page's chat route as the signed-in user; keep each piece as it comes."""
        bearer = {"Authorization": f"Bearer {await self.sign_in()}"}
        self.sent.clear()
        async with self.browser() as web, web.stream("POST", path, headers=bearer, **request) as r:
            text = "".join([piece.decode() async for piece in r.aiter_raw()])
        assert r.status_code == 200, (r.status_code, text)
        pieces = [piece.decode() for piece in self.sent]
        assert "".join(pieces) == text, (pieces, text)  # every piece arrived, in order
        self.seen[f"POST {path}"] = {"status": r.status_code, "pieces": pieces}
        streamed(pieces, f"{path}'s reply")


def streamed(pieces: list[str], what: str) -> None:
    """A streamed reply: more than one piece, and together a non-empty text."""
    assert len(pieces) > 1, f"{what} came in {len(pieces)} piece(s): {pieces!r}"
    assert "".join(pieces).strip(), f"{what} is empty"


async def readme(walk: Walk) -> None:
    """README: /api/me and /api/ask for a signed-in user; the signed-in block streams."""
    bearer = {"Authorization": f"Bearer {await walk.sign_in()}"}
    async with walk.browser() as web:
        me = await web.get("/api/me", headers=bearer)
        ask = await web.post("/api/ask", params={"question": QUESTION}, headers=bearer)
    assert me.status_code == 200, me.text
    assert me.json()["provider"] == "openai", me.text
    assert ask.status_code == 200, ask.text
    assert ask.json()["answer"], ask.text
    walk.seen["/api/ask"] = ask.json()


async def fastapi_page(walk: Walk) -> None:
    """fastapi.md: its /api/chat streams the reply to the signed-in user."""
    messages = [{"role": "user", "content": QUESTION}]
    await walk.stream_chat("/api/chat", json={"messages": messages})


async def django_page(walk: Walk) -> None:
    """django.md: the project's /api/me knows the user and its /api/chat streams."""
    bearer = {"Authorization": f"Bearer {await walk.sign_in()}"}
    async with walk.browser() as web:
        me = (await web.get("/api/me", headers=bearer)).json()
    assert me["signed_in"], me
    assert me["provider"] == "openai", me
    messages = [{"role": "user", "content": QUESTION}]
    await walk.stream_chat("/api/chat", json={"messages": messages})


async def quickstart(walk: Walk) -> None:
    """quickstart.md step 5: its own in-process sign-in and streamed `reply`."""
    import openai

    assert isinstance(walk.namespace.get("stream"), openai.AsyncStream), "step 5 did not stream"
    assert walk.namespace["reply"], "step 5's reply is empty"
    walk.seen["reply"] = walk.namespace["reply"]


@dataclass(frozen=True)
class Page:
    """Where on the page the walk stops to chat, and how; and whether `signed-in` blocks must
    stream what they print."""

    stop: str  # the chat check runs after the block containing this text
    chat: Callable[[Walk], Awaitable[None]]
    streams_in_signed_in: bool = False


PAGES = {
    "README.md": Page('@app.post("/api/ask")', readme, streams_in_signed_in=True),
    "docs/quickstart.md": Page("print(reply)", quickstart),
    "docs/fastapi.md": Page('@app.post("/api/chat")', fastapi_page),
    "docs/django.md": Page('path("api/chat"', django_page),
}


async def walk_page(root: Path, name: str, cwd: Path) -> dict[str, Any]:
    snippets = load_snippets(root)
    page, spec = root / name, PAGES[name]
    emulator = Emulator(interval="1")  # the shortest poll interval a sign-in may ask for
    async with served(emulator) as upstream:
        emulator.auth.knobs.issuer = upstream  # known only now: the port is the server's
        os.environ["AUTH_AI_OPENAI_ISSUER"] = upstream
        os.environ["AUTH_AI_OPENAI_API_BASE"] = f"{upstream}/backend-api/codex"
        where = run_setup(page, cwd)
        os.chdir(where)
        sys.path.insert(0, str(where))
        walk = Walk(page, where, emulator)
        try:
            for block in snippets.blocks(page):
                await walk_block(walk, block, spec)
                if spec.stop in block.source:
                    await spec.chat(walk)
                    walk.seen["chat"] = name
            assert "chat" in walk.seen, f"{name}: no block contains {spec.stop!r}"
        finally:
            await shutdown(walk)
    return walk.seen


async def walk_block(walk: Walk, block: Any, spec: Page) -> None:
    appended = APPENDED.match(block.source.split("\n", 1)[0])
    if block.kind == "file" or appended:
        target = walk.cwd / (appended.group(1) if appended else block.file)
        target.parent.mkdir(parents=True, exist_ok=True)
        before = target.read_text() + "\n" if appended and target.exists() else ""
        target.write_text(before + block.source)
    elif block.kind == "signed-in":
        namespace = {**walk.namespace, "jwt": await walk.sign_in()}
        start = len(walk.printed)
        await walk.run(block.source, block.where, namespace)
        if spec.streams_in_signed_in and "stream=True" in block.source:
            pieces = [p for p in walk.printed[start:] if p]
            streamed(pieces, f"{block.where}'s reply")
            walk.seen[block.where] = pieces
    elif block.kind == "run":
        await walk.run(block.source, block.where, walk.namespace)


async def shutdown(walk: Walk) -> None:
    made = [v for v in walk.namespace.values() if isinstance(v, AuthAI)]
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) and str(module.__file__).startswith(str(walk.cwd)):
            made += [v for v in vars(module).values() if isinstance(v, AuthAI)]
    for authai in {id(a): a for a in made}.values():
        await authai.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", choices=sorted(PAGES))
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--installed", action="store_true")
    args = parser.parse_args()
    root: Path = args.root.resolve()
    origin = Path(authai_embed.__file__).resolve()
    if args.installed:
        assert not origin.is_relative_to(root), f"authai_embed comes from the checkout: {origin}"
    with tempfile.TemporaryDirectory() as cwd:
        seen = asyncio.run(walk_page(root, args.page, Path(cwd)))
    builtins.print(json.dumps({"page": args.page, "authai_embed": str(origin), **seen}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
