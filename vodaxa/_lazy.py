"""Heavy libraries imported on first use, for modules that need them only in some calls (the downloader needs
pandas only when it is handed a table: a list of URLs must not cost a process 100 MB of memory)."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

__all__ = ["LazyModule", "loaded"]


class LazyModule:
    """Stands for the module ``name`` and imports it when one of its attributes is first asked for."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> object:
        module: ModuleType = importlib.import_module(self._name)
        value = getattr(module, attribute)
        setattr(self, attribute, value)  # found without this method from now on (hot paths ask often)
        return value


def loaded(name: str) -> bool:
    """Whether the module ``name`` was imported already (so an object of one of its classes may exist)."""
    return name in sys.modules
