"""Warnings silenced safely where vodaxa runs code in several threads at once.

``warnings.catch_warnings`` swaps process-wide state; two of them interleaved in two threads restore each other's
state in the wrong order and leave every later warning of the session recorded into a list nobody reads (found by a
new-user walk: a multi-mission search silenced the user's own warnings).  vodaxa's silencing goes through
:func:`quiet`, which holds one lock for the short, network-free parsing it wraps, so its uses never interleave.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quiet"]

_LOCK = threading.RLock()


@contextmanager
def quiet() -> Iterator[None]:
    """Ignore warnings inside the block (parsing a server's document whose spec nits the reader cannot fix).
    Keep the block short and free of network calls: concurrent callers wait for it."""
    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
