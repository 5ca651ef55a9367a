"""The benchmark harness (bench/): its pure helpers, and one in-process run at the smallest
counts. Correctness of the harness only: no figure is compared with anything here."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.__main__ import main
from bench.report import Row, Target, format_table, markdown_table, verdict
from bench.stats import percentile, summarize


def test_percentiles_interpolate_between_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == pytest.approx(2.5)
    assert percentile([7.0], 99) == 7.0
    summary = summarize(values)
    assert summary.count == 4
    assert summary.p50 == pytest.approx(2.5)
    assert summary.mean == 2.5
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile(values, 101)


def test_targets_judge_added_absolute_and_ratio_figures() -> None:
    assert Target("added<=", 1.0).check(2.9, 2.0)
    assert not Target("added<=", 1.0).check(3.1, 2.0)
    assert Target("<=", 20.0).check(19.0, None)
    assert Target("ratio>=", 0.75).check(75.0, 100.0)
    assert not Target("ratio>=", 0.75).check(74.0, 100.0)
    assert Target("==", 1.0).check(1.0, None)
    with pytest.raises(ValueError, match="direct"):
        Target("ratio>=", 1.0).check(1.0, None)


def test_the_table_shows_ratio_target_and_verdict_per_row() -> None:
    rows = [
        Row("1 in-process", "latency p50", 2.5, "ms", 2.0, Target("added<=", 1.0)),
        Row("1 in-process", "latency p99", 9.0, "ms", 3.0),
        Row("3 served", "c=16 requests/s", 50.0, "/s", 100.0, Target("ratio>=", 0.75)),
        Row("3 served", "ChatMock", None, "", note="not installed"),
    ]
    text = format_table(rows).splitlines()
    assert text[0].split() == ["Measurement", "Ours", "Direct", "Ratio", "Target", "Result"]
    assert "[1 in-process]" in text
    assert "[3 served]" in text
    first = next(line for line in text if line.startswith("latency p50"))
    assert "1.25x" in first
    assert "added ≤ 1.00 ms" in first
    assert first.endswith("PASS")
    assert next(line for line in text if line.startswith("c=16")).endswith("FAIL")
    assert "ChatMock (not installed)" in format_table(rows)
    markdown = markdown_table(rows).splitlines()
    assert len(markdown) == len(rows) + 2
    assert all(line.count("|") == 8 for line in markdown)
    assert verdict(rows) == (1, 1)


def test_a_quick_in_process_run_prints_the_table_and_writes_the_doc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "performance.md"
    assert main(["--quick", "--only", "inprocess,streaming", "--doc", str(doc)]) == 0
    out = capsys.readouterr().out
    assert "time to first token p50" in out
    assert "translation per event" in out
    text = doc.read_text()
    assert "| 1 in-process, non-streaming | latency p50" in text
    assert "python -m bench --quick --only inprocess,streaming --doc" in text
    assert "Machine:" in text


def test_authai_embed_bench_hands_every_option_to_python_m_bench(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from authai_embed.cli import main as cli_main

    with pytest.raises(SystemExit) as exited:
        cli_main(["bench", "--help"])
    assert exited.value.code == 0
    assert "usage: python -m bench" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "writes"),
    [
        (["--scale"], True),
        (["--soak"], True),
        (["--instructions"], True),
        (["--instructions", "--quick"], False),
        (["--scale", "--streams", "400,600"], False),
        (["--soak", "--soak-seconds", "30"], False),
        (["--scale", "--quick"], False),
        (["--scale", "--streams", "400", "--doc", "elsewhere.md"], True),
    ],
)
def test_only_a_run_at_the_published_sizes_rewrites_the_performance_page_by_default(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], writes: bool
) -> None:
    import bench.__main__ as bench_main

    seen: list[Path | None] = []

    def run_extras(args: object, extras: list[str], doc: Path | None) -> int:
        seen.append(doc)
        return 0

    monkeypatch.setattr(bench_main, "run_extras", run_extras)
    assert main(argv) == 0
    assert (seen[0] is not None) is writes


def test_instructions_without_valgrind_says_so_and_runs_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bench.extra_runs as extra_runs

    def measure(*args: object) -> object:
        raise AssertionError("nothing runs without valgrind")

    monkeypatch.setattr(extra_runs, "valgrind_missing", lambda: "valgrind not found")
    monkeypatch.setattr(extra_runs, "measure_instructions", measure)
    assert main(["--instructions", "--quick"]) == 2
    assert "--instructions needs valgrind: valgrind not found" in capsys.readouterr().err
