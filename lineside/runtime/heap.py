"""GC tuning for a long-running agent: the configuration is frozen out of the collector."""

from __future__ import annotations

import gc

GC_YOUNG_THRESHOLD = 10_000


def freeze_heap() -> None:
    """Move everything built so far (configuration, engine, drivers: long-lived) out of
    the garbage collector's sight, and let it wait for 10,000 net new objects instead
    of 700 before a young collection. A poll cycle makes thousands of short-lived
    samples and points: the default collected ~40 times a 10,000-signal cycle and
    scanned the whole configuration each time, a fifth of the agent's CPU (see
    bench/README.md). Unfrozen first: what a reload replaced can then be collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _, g1, g2 = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, g1, g2)


def thaw_heap() -> None:
    """Undo freeze_heap (an agent stopped inside a longer-lived process, e.g. tests)."""
    gc.unfreeze()
    _, g1, g2 = gc.get_threshold()
    gc.set_threshold(700, g1, g2)  # CPython's default
