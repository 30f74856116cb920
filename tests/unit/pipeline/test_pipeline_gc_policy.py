"""The collector runs between items only: off (and the past frozen) inside the block, restored after."""

from __future__ import annotations

import gc

from tradebot.pipeline.gc_policy import IdleCollector, collect_between_items


def test_the_block_turns_automatic_collection_off_and_restores_it() -> None:
    assert gc.isenabled()
    with collect_between_items():
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0  # what existed before the run is out of the scans
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    try:
        with collect_between_items():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_maybe_collect_frees_cycles_once_the_young_generation_is_due() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    with collect_between_items():
        collector = IdleCollector(thresholds=(50, 1_000_000, 1_000_000))
        gc.collect(0)
        assert collector.maybe_collect() is None  # nothing allocated since: not due
        for _ in range(200):
            Node()  # cycles: only the collector frees them, and it is off
        garbage = sum(isinstance(o, Node) for o in gc.get_objects(generation=0))
        assert garbage >= 100
        assert collector.maybe_collect() == 0
        assert collector.collections == [1, 0, 0]
        assert not any(isinstance(o, Node) for o in gc.get_objects())


def test_the_oldest_due_generation_is_collected() -> None:
    with collect_between_items():
        collector = IdleCollector(thresholds=(1, 1, 1_000_000))
        gc.collect(0)
        [[] for _ in range(10)]
        gc.collect(0)  # generation 1's counter is now 1: due with threshold 1
        [[] for _ in range(10)]
        assert collector.maybe_collect() == 1
