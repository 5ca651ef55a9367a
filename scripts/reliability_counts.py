"""Run the tests named in docs/reliability.md and rewrite each row's "last run" cell as
`passed/collected` for that row's tests (parametrized cases counted one by one), and the page's
"Last run" line with the date and the totals.

    PYTHONPATH=src AUTHAI_REQUIRE_SERVICES=1 python scripts/reliability_counts.py
    PYTHONPATH=src python scripts/reliability_counts.py --check   # collect only, compare

`--check` runs nothing: it compares every row's collected count with what pytest collects now
(tests/test_reliability_doc.py does the same in the suite), so a case added or removed without
a rerun of this script fails.
"""

from __future__ import annotations

import datetime
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
LAST_RUN = re.compile(r"^Last run \((\d{4}-\d{2}-\d{2})\): (\d+)/(\d+) cases named here passed")
_PYTEST = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")


def references(text: str) -> list[tuple[str, str]]:
    """Every `tests/<file>.py::<test>` named in `text`, in order."""
    return REF.findall(text)


def rows(text: str) -> list[tuple[list[tuple[str, str]], str]]:
    """Each table row naming tests: its references and its last cell (`passed/collected`)."""
    found = []
    for line in text.splitlines():
        refs = references(line)
        if refs and line.startswith("|"):
            found.append((refs, line.rstrip().rstrip("|").split("|")[-1].strip()))
    return found


def collect(files: list[str]) -> Counter[tuple[str, str]]:
    """Cases per (file, test function), as `pytest --collect-only` finds them now."""
    done = subprocess.run(  # noqa: S603 (our own interpreter and test files)
        [*_PYTEST, "--collect-only", *files],
        cwd=ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"collection failed:\n{done.stdout}\n{done.stderr}")
    counts: Counter[tuple[str, str]] = Counter()
    for line in done.stdout.splitlines():
        path, sep, name = line.partition("::")
        if sep:
            counts[(path, name.split("[", 1)[0])] += 1
    return counts


def mismatches(text: str) -> list[str]:
    """Rows (and the "Last run" line) whose collected count is not what pytest collects."""
    refs = list(dict.fromkeys(references(text)))
    counts = collect(sorted({path for path, _ in refs}))
    wrong = []
    for row_refs, last in rows(text):
        expected = sum(counts[ref] for ref in row_refs)
        collected = last.partition("/")[2]
        if collected != str(expected):
            names = ", ".join("::".join(ref) for ref in row_refs)
            wrong.append(f"{names}: the page says {last}, pytest collects {expected}")
    total = sum(counts[ref] for ref in refs)
    line = next((m for m in map(LAST_RUN.match, text.splitlines()) if m), None)
    if line is None or line.group(3) != str(total):
        wrong.append(f"the Last run line does not count the {total} cases named here")
    return wrong


def run(files: list[str]) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """Collected and passed cases per (file, test function)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        subprocess.run(  # noqa: S603 (our own interpreter and test files)
            [*_PYTEST, f"--junitxml={report}", *files], cwd=ROOT, env=os.environ, check=False
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


def main(argv: list[str]) -> int:
    text = DOC.read_text()
    if argv == ["--check"]:
        wrong = mismatches(text)
        print(*wrong, sep="\n")
        return 1 if wrong else 0
    files = sorted({path for path, _ in references(text)})
    collected, passed = run(files)
    unique = list(dict.fromkeys(references(text)))
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    lines = []
    for line in text.splitlines():
        refs = references(line)
        if refs and line.startswith("|"):
            total = sum(collected[ref] for ref in refs)
            ok = sum(passed[ref] for ref in refs)
            cells = line.rstrip().rstrip("|").split("|")
            cells[-1] = f" {ok}/{total} "
            line = "|".join(cells) + "|"
        elif LAST_RUN.match(line):
            ok, total = sum(passed[r] for r in unique), sum(collected[r] for r in unique)
            line = LAST_RUN.sub(f"Last run ({today}): {ok}/{total} cases named here passed", line)
        lines.append(line)
    DOC.write_text("\n".join(lines) + "\n")
    missing = [ref for ref in unique if not collected[ref]]
    if missing:
        print("not collected:", *("::".join(ref) for ref in missing), sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
