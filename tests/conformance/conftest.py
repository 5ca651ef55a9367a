"""The conformance suite runs once per provider: `harness` signs in with the target's provider."""

from __future__ import annotations

import pytest

from tests._support.harness import Harness, HarnessFactory
from tests.conformance.targets import TARGETS, Target


@pytest.fixture(params=TARGETS, ids=[t.name for t in TARGETS])
def target(request: pytest.FixtureRequest) -> Target:
    chosen: Target = request.param
    return chosen


@pytest.fixture
async def harness(make_harness: HarnessFactory, target: Target) -> Harness:
    made = await make_harness()
    made.provider = target.provider
    return made
