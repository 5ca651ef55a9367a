"""`python -m bench --instructions`: three servers under callgrind, counted per request."""

from __future__ import annotations

from pathlib import Path

from bench.instructions import (
    InstructionCounts,
    _total,
    instruction_rows,
    measure_instructions,
    valgrind_missing,
)

from tests._support.services import unavailable


def test_the_newest_dump_gives_the_total(tmp_path: Path) -> None:
    out = tmp_path / "ours.out"
    (tmp_path / "ours.out.1").write_bytes(b"events: Ir\nsummary: 10\n")
    (tmp_path / "ours.out.2").write_bytes(b"events: Ir\nsummary: 2500\n")
    (tmp_path / "ours.out.10").write_bytes(b"events: Ir\ntotals: 7\n")
    assert _total(out) == 7  # .10 is newer than .2: by number, not by name


def test_the_rows_are_thousands_against_the_emulator() -> None:
    rows = instruction_rows(
        InstructionCounts(10, emulator=2_000_000, relay=1_200_000, ours=2_500_000)
    )
    assert [(r.name, r.ours, r.direct) for r in rows] == [
        ("ours, 1 worker", 2500.0, 2000.0),
        ("bare relay (the floor)", 1200.0, 2000.0),
        ("ours over the floor (our own work)", 1300.0, None),
    ]
    assert rows[0].ratio == 1.25
    assert all(r.unit == "k instr" and r.target is None for r in rows)


def test_ours_counts_more_instructions_a_request_than_the_bare_relay_it_builds_on() -> None:
    why = valgrind_missing()
    if why:
        unavailable(why)
    counts = measure_instructions(requests=3, warmup=1)
    assert counts.requests == 3
    # A streamed completion costs each server on the order of a million instructions, and ours
    # does what the relay does (relay the stream) and more (session, vault, translation).
    for figure in (counts.emulator, counts.relay, counts.ours):
        assert 100_000 < figure < 50_000_000
    assert counts.ours > counts.relay
