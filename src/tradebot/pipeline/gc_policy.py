"""When the cyclic garbage collector runs: between items of the decide stage, never in the middle of one.

CPython's automatic collector runs whenever enough container objects were allocated, which can be in the
middle of a decision: a young-generation pass costs ~0.1 ms, a middle one ~1 ms and a full one tens of
ms with pandas and the exchange calendars loaded, all of it between a bar arriving and its order leaving.
For the length of a run the automatic collector is off and the decide stage calls ``maybe_collect`` after
each item it finished, with CPython's own thresholds: the same collections, at the moment the daemon would
otherwise wait for the next bar. What was allocated before the run (imports, calendars, models) is frozen
out of the collector's scans (``gc.freeze``) and unfrozen when the run ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


class IdleCollector:
    def __init__(self, thresholds: tuple[int, int, int] | None = None) -> None:
        t0, t1, t2 = thresholds or gc.get_threshold()
        self.thresholds = (max(t0, 1), max(t1, 1), max(t2, 1))
        self.collections = [0, 0, 0]

    def maybe_collect(self) -> int | None:
        """Collect the oldest generation that is due (CPython's counters); the generation, or None."""
        c0, c1, c2 = gc.get_count()
        t0, t1, t2 = self.thresholds
        if c0 < t0:
            return None
        generation = 2 if c2 >= t2 else 1 if c1 >= t1 else 0
        gc.collect(generation)
        self.collections[generation] += 1
        return generation


@contextmanager
def collect_between_items() -> Iterator[IdleCollector]:
    """Automatic collection off (and what exists now frozen) for the block; restored after."""
    was_enabled = gc.isenabled()
    collector = IdleCollector()
    gc.freeze()
    gc.disable()
    try:
        yield collector
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()
