"""The conditions every pipeline stage runs under (`with stage(): ...`)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# Python frames the deepest legal spec needs: nesting is capped at a few hundred levels (brackets
# in a file, block calls and containers when expanded), each a handful of frames in a stage.
RECURSION_HEADROOM = 6000


@contextmanager
def stage() -> Iterator[None]:
    """Run a stage with the cyclic garbage collector paused and enough recursion headroom.

    The stages allocate a few small objects per layer and free almost nothing, which is the
    pattern that makes CPython's generational collector rescan everything alive, again and
    again (a quarter of the time on a 100k-layer spec); reference counting still frees what is
    acyclic, and the collector resumes when the outermost stage ends. The recursion limit is
    raised (never lowered) for the duration, so that specs at the nesting caps are reported
    or analysed rather than crashing on Python's default of 1000 frames.
    """
    was_enabled = gc.isenabled()
    old_limit = sys.getrecursionlimit()
    gc.disable()
    if old_limit < RECURSION_HEADROOM:
        sys.setrecursionlimit(RECURSION_HEADROOM)
    try:
        yield
    finally:
        if old_limit < RECURSION_HEADROOM:
            sys.setrecursionlimit(old_limit)
        if was_enabled:
            gc.enable()
