"""Run the tests named in docs/reliability.md and rewrite each row's "last run" cell as
`passed/collected` for that row's tests (parametrized cases counted one by one).

    PYTHONPATH=src AUTHAI_REQUIRE_SERVICES=1 python scripts/reliability_counts.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET  # our own pytest's report
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"
REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def references(text: str) -> list[tuple[str, str]]:
    """Every `tests/<file>.py::<test>` named in `text`, in order."""
    return REF.findall(text)


def run(files: list[str]) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """Collected and passed cases per (file, test function)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        subprocess.run(  # noqa: S603 (our own interpreter and test files)
            [*command, f"--junitxml={report}", *files], cwd=ROOT, env=os.environ, check=False
        )
        tree = ET.parse(report)  # noqa: S314 (written by pytest just now)
    collected: Counter[tuple[str, str]] = Counter()
    passed: Counter[tuple[str, str]] = Counter()
    for case in tree.iter("testcase"):
        path = case.get("classname", "").replace(".", "/") + ".py"
        name = case.get("name", "").split("[", 1)[0]
        key = (path, name)
        collected[key] += 1
        if not any(child.tag in ("failure", "error", "skipped") for child in case):
            passed[key] += 1
    return collected, passed


def main() -> int:
    text = DOC.read_text()
    files = sorted({path for path, _ in references(text)})
    collected, passed = run(files)
    lines = []
    for line in text.splitlines():
        refs = references(line)
        if refs and line.startswith("|"):
            total = sum(collected[ref] for ref in refs)
            ok = sum(passed[ref] for ref in refs)
            cells = line.rstrip().rstrip("|").split("|")
            cells[-1] = f" {ok}/{total} "
            line = "|".join(cells) + "|"
        lines.append(line)
    DOC.write_text("\n".join(lines) + "\n")
    missing = [ref for ref in dict.fromkeys(references(text)) if not collected[ref]]
    if missing:
        print("not collected:", *("::".join(ref) for ref in missing), sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
