"""The mutation gate's list (`scripts/mutation_gate.py`) stays honest: every snippet is in its
file exactly once and every named test exists. The gate itself runs in `.ci/run`."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _gate() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "mutation_gate", ROOT / "scripts" / "mutation_gate.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_snippet_matches_the_source_exactly_once() -> None:
    gate = _gate()
    assert len(gate.MUTATIONS) >= 12
    assert gate.stale() == []


def test_every_mutation_names_existing_tests_and_changes_its_snippet() -> None:
    gate = _gate()
    names = [m.name for m in gate.MUTATIONS]
    assert len(set(names)) == len(names)
    missing = []
    for m in gate.MUTATIONS:
        assert m.snippet != m.replacement, m.name
        assert m.tests, m.name
        for test in m.tests:
            path, _, name = test.partition("::")
            if name not in _test_names(ROOT / path):
                missing.append(f"{m.name}: {test}")
    assert missing == []


def test_a_moved_snippet_is_reported(tmp_path: Path) -> None:
    gate = _gate()
    m = gate.MUTATIONS[0]
    (tmp_path / m.file).parent.mkdir(parents=True)
    (tmp_path / m.file).write_text("refactored away\n")
    for test in m.tests:
        (tmp_path / test.split("::")[0]).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / test.split("::")[0]).write_text("")
    assert gate.stale((m,), tmp_path) == [f"{m.name}: the snippet is in {m.file} 0 times, not once"]


def test_a_run_is_killed_only_when_every_named_test_failed() -> None:
    gate = _gate()
    assert gate.verdict({"a": "failed", "b": "failed"}) == "killed"
    assert gate.verdict(None) == "killed (timeout)"
    assert gate.verdict({"a": "failed", "b": "passed"}) == "SURVIVED"
    assert gate.verdict({"a": "failed", "b": "not run"}).startswith("ERROR")


def test_docs_security_lists_every_mutation() -> None:
    table = (ROOT / "docs" / "security.md").read_text()
    for m in _gate().MUTATIONS:
        assert f"| `{m.name}` | {m.invariant} |" in table, m.name
