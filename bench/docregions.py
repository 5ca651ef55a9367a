"""Sections of docs/performance.md that runs other than the main one write (`--scale`,
`--soak`): each between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, replaced by its own
run and kept when another run rewrites the page."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["keep_regions", "kept_narrative", "write_region"]

_REGION = re.compile(r"<!-- bench:(\w+) -->\n.*?<!-- /bench:\1 -->\n", re.DOTALL)


def _wrap(name: str, body: str) -> str:
    return f"<!-- bench:{name} -->\n{body.strip()}\n<!-- /bench:{name} -->\n"


def write_region(path: Path, name: str, body: str) -> None:
    """Replace region `name` of `path` with `body` (appended when the page has none yet)."""
    text = path.read_text() if path.exists() else "# Performance\n"
    region = _wrap(name, body)
    for match in _REGION.finditer(text):
        if match.group(1) == name:
            path.write_text(text[: match.start()] + region + text[match.end() :])
            return
    path.write_text(text.rstrip("\n") + "\n\n" + region)


def keep_regions(path: Path) -> str:
    """Every region now in `path`, to append to a rewritten page ("" when none)."""
    if not path.exists():
        return ""
    regions = [m.group(0) for m in _REGION.finditer(path.read_text())]
    return "\n" + "\n".join(regions) if regions else ""


_GENERATED_END = "\n## How it is measured\n"


def kept_narrative(path: Path) -> str:
    """What a full run keeps of the page it rewrites: everything after its own generated part
    (the table and "How it is measured"), verbatim. That is the hand-written analysis and the
    sections other runs write (`--fairness`, `--scale`, `--soak`); "" when there is no page."""
    if not path.exists():
        return ""
    text = path.read_text()
    _, found, rest = text.partition(_GENERATED_END)
    if not found:
        return keep_regions(path)
    starts = [i for i in (rest.find("\n## "), rest.find("\n<!-- bench:")) if i >= 0]
    return "\n" + rest[min(starts) + 1 :] if starts else ""
