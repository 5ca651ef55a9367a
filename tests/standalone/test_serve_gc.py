"""`tune_gc`: what `authai-embed serve` does to the collector once a worker's app is built."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from authai_embed.server.gc_tuning import YOUNG_THRESHOLD, tune_gc
from authai_embed.server.run import FACTORY


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_it_freezes_what_start_up_left_and_raises_the_young_threshold() -> None:
    gc.set_threshold(700, 10, 10)
    survivor = [object()]
    tune_gc()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    assert survivor  # frozen, not collected


@pytest.mark.usefixtures("restored_gc")
def test_a_threshold_set_higher_before_is_kept() -> None:
    gc.set_threshold(YOUNG_THRESHOLD * 5, 20, 30)
    tune_gc()
    assert gc.get_threshold() == (YOUNG_THRESHOLD * 5, 20, 30)


def test_the_workers_factory_is_importable() -> None:
    module, _, name = FACTORY.partition(":")
    assert callable(getattr(__import__(module, fromlist=[name]), name))
