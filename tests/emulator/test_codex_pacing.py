"""The emulator's pacing knobs: a long answer of stamped deltas on a fixed schedule."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from authai_embed.testing import Emulator
from authai_embed.testing.codex.pacing import STAMP_PLACEHOLDER
from tests.emulator.test_codex import access, client, headers, stream, text_of, types

__all__ = ["access", "client", "headers"]  # fixtures, used by name

pytestmark = pytest.mark.anyio

STAMP = re.compile(r"T(\d{10}\.\d{6}) ")


async def test_answer_events_sets_the_number_of_text_deltas(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    emulator.codex.knobs.answer_events = 7
    events = await stream(client, headers)
    deltas = [data["delta"] for name, data in events if name == "response.output_text.delta"]
    assert deltas == [STAMP_PLACEHOLDER] * 7
    assert types(events)[-1] == "response.completed"


async def test_stamped_events_carry_their_send_time_in_order(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    knobs = emulator.codex.knobs
    knobs.answer_events, knobs.stamp_events, knobs.events_per_second = 5, True, 10_000.0
    before = time.time()
    events = await stream(client, headers)
    after = time.time()
    stamps = [float(s) for s in STAMP.findall(text_of(events))]
    assert len(stamps) == 5
    assert stamps == sorted(stamps)
    assert before <= stamps[0]
    assert stamps[-1] <= after
    done = next(data for name, data in events if name == "response.output_text.done")
    assert done["text"] == STAMP_PLACEHOLDER * 5
    assert types(events)[-1] == "response.completed"
    assert emulator.codex.stats.completed_streams == 1


async def test_a_paced_stream_sends_every_event_of_the_unpaced_one(
    client: httpx.AsyncClient, headers: dict[str, str], emulator: Emulator
) -> None:
    plain = types(await stream(client, headers))
    emulator.codex.knobs.events_per_second = 10_000.0
    assert types(await stream(client, headers)) == plain
