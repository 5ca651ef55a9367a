"""The sections of docs/performance.md that `--scale` and `--soak` write: each run replaces its
own and the main run's rewrite keeps them."""

from __future__ import annotations

from pathlib import Path

from bench.docregions import keep_regions, write_region


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
