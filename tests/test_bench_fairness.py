"""`python -m bench --fairness`'s page section: written between its markers, kept by a full run."""

from __future__ import annotations

from pathlib import Path

from bench.fairness import END, SECTION, START, kept_section, write_section
from bench.report import Row, Target


def _rows(p99: float) -> list[Row]:
    return [Row("bottleneck", "p99", p99, "ms", 10.0, Target("ratio<=", 1.5))]


def test_the_results_replace_only_what_is_between_the_markers(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nintro\n")
    write_section(doc, _rows(30.0), "python -m bench --fairness", "today", "a box")
    first = doc.read_text()
    assert first.startswith("# Performance\n\nintro\n")
    assert SECTION in first
    assert "FAIL" in first
    doc.write_text(first.replace(END, END + "\n\nfindings written by hand\n"))
    write_section(doc, _rows(12.0), "python -m bench --fairness", "later", "a box")
    second = doc.read_text()
    assert second.count(START) == 1
    assert "PASS" in second
    assert "FAIL" not in second
    assert "findings written by hand" in second


def test_a_full_run_carries_the_section_over(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n## Other\n\ntext\n")
    assert kept_section(doc) == ""
    write_section(doc, _rows(12.0), "python -m bench --fairness", "today", "a box")
    kept = kept_section(doc)
    assert kept.startswith(SECTION)
    assert "## Other" not in kept
    assert "PASS" in kept
