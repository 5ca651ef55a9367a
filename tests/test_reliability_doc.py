"""docs/reliability.md names real tests, names every test of the catalogue files, and its last
recorded run was green."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "reliability.md").read_text()
REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
CATALOGUE = [
    "tests/asgi/test_hostile_input.py",
    "tests/transports/test_upstream_faults.py",
    "tests/asgi/test_limits.py",
    "tests/test_token_guard.py",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "fuzz").glob("test_*.py")),
]


def _tests(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_test_named_in_the_catalogue_exists() -> None:
    missing = [f"{path}::{name}" for path, name in REF.findall(DOC) if name not in _tests(path)]
    assert missing == []


def test_every_catalogue_test_is_in_the_table() -> None:
    named = set(REF.findall(DOC))
    absent = [
        f"{path}::{name}"
        for path in CATALOGUE
        for name in _tests(path)
        if (path, name) not in named
    ]
    assert absent == [], "add these to docs/reliability.md"


def test_every_row_records_a_green_last_run() -> None:
    rows = [line for line in DOC.splitlines() if line.startswith("|") and REF.search(line)]
    assert len(rows) > 40
    for row in rows:
        last = row.rstrip().rstrip("|").split("|")[-1].strip()
        passed, _, collected = last.partition("/")
        assert passed.isdecimal(), row
        assert passed == collected, row
        assert int(passed) > 0, row


def test_every_count_is_what_pytest_collects() -> None:
    """The collected half of each row (and the page's total) equals the collection of today:
    from `pytest --collect-only`, not from the page's own say-so."""
    spec = importlib.util.spec_from_file_location(
        "reliability_counts", ROOT / "scripts" / "reliability_counts.py"
    )
    assert spec is not None
    assert spec.loader is not None
    counts = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(counts)
    assert counts.mismatches(DOC) == [], "run scripts/reliability_counts.py"
