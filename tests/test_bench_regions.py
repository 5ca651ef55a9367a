"""The sections of docs/performance.md that `--scale` and `--soak` write: each run replaces its
own and the main run's rewrite keeps them."""

from __future__ import annotations

from pathlib import Path

from bench.docregions import keep_regions, kept_narrative, write_region


def test_a_region_is_appended_then_replaced_and_kept(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nmain table\n")
    write_region(doc, "scale", "## Open streams\n\nfirst")
    write_region(doc, "soak", "## Soak\n\nsoaked")
    write_region(doc, "scale", "## Open streams\n\nsecond")
    text = doc.read_text()
    assert text.startswith("# Performance\n\nmain table\n")
    assert "second" in text
    assert "first" not in text
    assert text.count("<!-- bench:scale -->") == 1
    assert text.index("bench:scale") < text.index("bench:soak")
    kept = keep_regions(doc)
    assert "second" in kept
    assert "soaked" in kept
    assert "main table" not in kept
    assert keep_regions(tmp_path / "missing.md") == ""


def test_a_full_run_keeps_everything_after_its_generated_part(tmp_path: Path) -> None:
    """The hand-written analysis and the other runs' sections survive a full run's rewrite; the
    table and "How it is measured" do not."""
    doc = tmp_path / "performance.md"
    doc.write_text(
        "# Performance\n\nold table\n\n## How it is measured\n\n- old method\n\n"
        "## Where the time goes\n\nby hand\n\n## Fairness and overload\n\nfair\n"
    )
    write_region(doc, "soak", "## Soak\n\nsoaked")
    kept = kept_narrative(doc)
    assert kept.startswith("\n## Where the time goes\n")
    assert "by hand" in kept
    assert "fair" in kept
    assert "soaked" in kept
    assert "old table" not in kept
    assert "old method" not in kept
    assert kept_narrative(tmp_path / "missing.md") == ""


def test_a_page_with_only_regions_keeps_them(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n## How it is measured\n\n- method\n")
    write_region(doc, "scale", "## Open streams\n\nopen")
    kept = kept_narrative(doc)
    assert "open" in kept
    assert "method" not in kept
