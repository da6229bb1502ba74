"""Entry-point plugins, read one way for archives and missions: a plugin that fails to load, or is not what its
group takes, is logged and skipped, never fatal (it must not hide what vodaxa has built in)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TypeVar

__all__ = ["plugins"]

T = TypeVar("T")


def plugins(group: str, kind: type[T], what: str, log: logging.Logger) -> Iterator[tuple[str, T]]:
    """(entry-point name, object) for each plugin of ``group`` whose object is a ``kind`` (``what`` names it in
    the warnings about the others)."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=group):
        try:
            found = ep.load()
        except Exception as err:  # a broken plugin must not hide the built-in ones
            log.warning("%s plugin %s could not be loaded: %s", what, ep.name, err)
            continue
        if not isinstance(found, kind):
            log.warning("%s plugin %s is not a %s.%s; ignored", what, ep.name, kind.__module__, kind.__qualname__)
            continue
        yield ep.name, found
