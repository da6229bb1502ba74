"""The cyclic garbage collector paused while vodaxa builds many objects at once (the rows of thousands of DataLink
answers, and their manifest): each full collection walks every object the process holds (astropy, pandas and pyvo
among them), and a resolve of 10,000 observations spent a quarter of its time there.  Objects are still freed
as they are dropped; only the search for reference cycles waits until the block ends."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["paused"]

_lock = threading.Lock()
_holders = 0  # blocks inside paused(), in any thread
_ours = False  # whether the collector was on when the first of them began (then the last one turns it back on)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Run the block with the cyclic collector off, and on again after it if it was on before (nested and
    concurrent blocks share one pause; a collector turned off by the program stays off)."""
    global _holders, _ours
    with _lock:
        if _holders == 0:
            _ours = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _ours:
                gc.enable()
