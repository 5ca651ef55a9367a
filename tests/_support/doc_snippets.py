"""The Python blocks of README.md and docs/*.md, read the way a user pastes them.

A page's blocks run in order in one namespace, as if pasted one after the other into
`python -m asyncio` (so `await` works at the top level). An HTML comment on the line just
before a block changes that:

- `<!-- fragment -->`: part of something larger (the inside of a request handler, a
  placeholder app): compiled, and every import it makes must resolve, but it is not run.
  `<!-- fragment: quart -->` names top-level modules the fragment imports that the test
  environment does not install.
- `<!-- signed-in -->`: runs once per provider with `authai`, a mount wired to the upstream
  emulator, and `jwt`, the session of a user signed in with that provider (over the page's own
  names). This is how a snippet that calls the model is checked for every provider.

A block whose first line is a comment naming a file (`# myproject/views.py`) is that file: it is
written into the page's working directory, so later blocks can import it, and checked like a
fragment.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Literal

ROOT = Path(__file__).resolve().parents[2]

Kind = Literal["run", "fragment", "signed-in", "file"]

_FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.M | re.S)
_MARKER = re.compile(r"<!--\s*(fragment|signed-in)\s*(?::\s*([^>]*?))?\s*-->\s*$")
_FILE = re.compile(r"#\s*([\w./-]+\.py)\s*$")


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced Python block of a page and how the harness treats it."""

    page: str
    line: int
    source: str
    kind: Kind
    file: str | None = None
    external: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    """README.md and every page under docs/, in a stable order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def page_name(page: Path) -> str:
    """The page as the failures name it: its path from the repository root."""
    return page.relative_to(ROOT).as_posix() if page.is_relative_to(ROOT) else page.name


def blocks(page: Path) -> list[Block]:
    """The page's Python blocks in order, each with its kind."""
    text = page.read_text()
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        line = text.count("\n", 0, match.start()) + 2
        source = match.group(1)
        marker = _MARKER.search(before)
        first = source.split("\n", 1)[0]
        named = _FILE.fullmatch(first.strip())
        kind: Kind = "run"
        external: tuple[str, ...] = ()
        if named:
            kind = "file"
        elif marker:
            kind = "fragment" if marker.group(1) == "fragment" else "signed-in"
            external = tuple(m.strip() for m in (marker.group(2) or "").split(",") if m.strip())
        found.append(
            Block(
                page_name(page),
                line,
                source,
                kind,
                file=named.group(1) if named else None,
                external=external,
            )
        )
    return found


def compile_block(block: Block) -> CodeType:
    """The block compiled as the asyncio REPL would (top-level `await` allowed)."""
    code: CodeType = compile(
        block.source, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    )
    return code


def unresolved_imports(block: Block, local: Path) -> list[str]:
    """Every import of the block that does not resolve: a missing module, or a name the
    module does not have. Modules written by file blocks (under `local`) are only checked to
    exist: importing them would run them."""
    missing = []
    for node in ast.walk(ast.parse(block.source)):
        targets: list[tuple[str, tuple[str, ...]]]
        if isinstance(node, ast.Import):
            targets = [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            targets = [(node.module, tuple(a.name for a in node.names if a.name != "*"))]
        else:
            continue
        for module, names in targets:
            if module.split(".")[0] in block.external:
                continue
            try:
                spec = importlib.util.find_spec(module)
            except ModuleNotFoundError:
                spec = None
            if spec is None:
                missing.append(module)
                continue
            if spec.origin is None or Path(spec.origin).is_relative_to(local):
                continue
            imported = importlib.import_module(module)
            for name in names:
                if not hasattr(imported, name) and not _submodule(f"{module}.{name}"):
                    missing.append(f"{module}.{name}")
    return missing


def _submodule(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False
