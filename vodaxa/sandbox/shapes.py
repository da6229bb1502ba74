"""Which archive shapes the sandbox serves and how one is loaded, importing nothing until then.

An archive shape (HEASARC, ESO, CXC, XSA, eROSITA, CDS, the registry) is one module with a ``create(context)``
function returning an :class:`ArchiveShape`; :data:`SHAPES` names them, so a new shape is one module and one
line here, and the server never imports a shape it does not run.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aiohttp import web

    from .settings import ShapeContext

__all__ = ["SHAPES", "ArchiveShape", "load_shape"]


class ArchiveShape(Protocol):
    """One archive as the sandbox serves it, on its own port."""

    def app(self) -> web.Application:
        """The aiohttp application answering in this archive's shapes."""

    def endpoints(self, base: str) -> dict[str, str]:
        """vodaxa's ``{service: url}`` for this archive served at ``base``."""

    def close(self) -> None:
        """Release what the shape holds (query engines, files)."""


#: Archive name (as in vodaxa.config) -> "module:factory" of its shape.
SHAPES: dict[str, str] = {
    "heasarc": "vodaxa.sandbox.archives.heasarc.shape:create",
    "erosita": "vodaxa.sandbox.archives.erosita.shape:create",
    "eso": "vodaxa.sandbox.archives.eso.shape:create",
    "xsa": "vodaxa.sandbox.archives.xsa.shape:create",
    "cxc": "vodaxa.sandbox.archives.cxc.shape:create",
    "cds": "vodaxa.sandbox.archives.cds.shape:create",
    "registry": "vodaxa.sandbox.registry:create",
}


def load_shape(name: str, context: ShapeContext) -> ArchiveShape:
    """Import and build the shape called ``name``."""
    if name not in SHAPES:
        raise KeyError(f"no sandbox shape '{name}'; known: {', '.join(SHAPES)}")
    module, _, factory = SHAPES[name].partition(":")
    return getattr(importlib.import_module(module), factory)(context)
