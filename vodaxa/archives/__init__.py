"""Archives: one folder per archive holding everything vodaxa knows about it, described by one :class:`Archive`.

An archive's folder (``vodaxa/archives/heasarc/`` ...) has its endpoint defaults, download connection limit,
credentials, mission specs and resolver, and registers its :class:`Archive` when imported.  The pipeline
(``query``, ``resolvers``, ``downloader``) is archive-agnostic and asks this registry.  Third-party packages add
archives through the ``vodaxa.archives`` entry-point group (each entry point names an :class:`Archive`).

This module stays light: an archive's heavy modules (its resolver, its login) are named as ``"module:attr"``
strings and imported only when used.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

__all__ = ["Archive", "archives", "by_name", "datalink_terms", "get", "load", "register"]

log = logging.getLogger(__name__)

#: The built-in archives, in the order their missions are listed.
BUILTIN = ("xsa", "heasarc", "cxc", "erosita", "eso", "cds", "regtap", "obscore")
ENTRY_POINTS = "vodaxa.archives"


@dataclass(frozen=True)
class Archive:
    """What vodaxa knows about one archive, in one place.

    ``endpoints`` are the default service URLs (users override them, see :mod:`vodaxa.config`).  ``missions``
    name the modules (relative to ``package``) whose import registers the archive's mission specs.
    ``resolver`` is ``"module:function"`` (or the function itself), an ``async (ResolveRequest) -> Manifest``;
    ``resolve_options`` are the archive-specific options of :func:`vodaxa.resolve` it understands (the others
    are refused, not ignored).  ``credentials`` says how a user's secret travels: ``"token"`` (``login`` makes,
    from a credential, an object with ``login()``, ``headers()``, ``invalidate()``, ``credential`` and
    ``expires``), ``"query"`` (``login`` makes the per-URL query parameters, see ``vodaxa.auth.use``) or None.
    """

    name: str
    title: str
    endpoints: Mapping[str, str]
    package: str = ""
    missions: tuple[str, ...] = ()
    resolver: str | Callable[..., Any] | None = None
    resolve_options: frozenset[str] = frozenset()
    max_connections: int | None = None  # ceiling on parallel downloads from its hosts (None: the core's default)
    credentials: str | None = None
    login: str | Callable[..., Any] | None = None
    datalink_terms: str | Callable[..., Any] | None = None  # LinkRow -> the core term its own semantics mean
    realm_services: tuple[str, ...] | None = None  # the services a credential may go to (None: all)

    def __post_init__(self) -> None:
        """Refuse a malformed description at once, naming what is wrong (a plugin's mistake must not surface
        later as a crash in every download)."""
        if not isinstance(self.name, str) or not self.name.isidentifier() or self.name != self.name.lower():
            raise ConfigError(f"an archive's name must be a lower-case identifier such as 'heasarc', not {self.name!r}")
        if not isinstance(self.endpoints, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.endpoints.items()
        ):
            raise ConfigError(f"archive '{self.name}': endpoints must map service names to URLs")
        limit = self.max_connections
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ConfigError(f"archive '{self.name}': max_connections must be a whole number >= 1 (or None), "
                              f"not {limit!r}")  # fmt: skip
        if self.credentials not in (None, "token", "query"):
            raise ConfigError(f"archive '{self.name}': credentials must be 'token', 'query' or None")
        if self.credentials and not self.login:
            raise ConfigError(f"archive '{self.name}': credentials={self.credentials!r} needs login=")

    def attr(self, ref: str | Callable[..., Any]) -> Any:
        """The object named by a ``"module:attr"`` reference (module relative to the archive's package); an object
        given itself (a resolver defined in a script or notebook) is returned as it is."""
        if not isinstance(ref, str):
            return ref
        module, _, name = ref.partition(":")
        target = importlib.import_module(module if not module.startswith(".") else self.package + module)
        return getattr(target, name)

    def realm(self, *, allow_http_loopback: bool = False) -> Any:
        """Where this archive's credential may go (a :class:`vodaxa.auth.Realm`): its ``realm_services``' URLs as
        the user configured them, never URLs found in the VO registry."""
        from ..auth.scoped import Realm
        from ..config import endpoints

        services = self.realm_services if self.realm_services is not None else tuple(self.endpoints)
        prefixes = tuple(endpoints.get(self.name, s, trusted=True) for s in services)
        return Realm(self.name, prefixes, allow_http_loopback)

    def load_missions(self) -> None:
        """Import the archive's mission modules (each registers its specs)."""
        for module in self.missions:
            importlib.import_module(module if not module.startswith(".") else self.package + module)


_REGISTRY: dict[str, Archive] = {}
_LOCK = threading.RLock()
_loaded = False
_TERMS: tuple[Callable[..., Any], ...] | None = None  # the archives' DataLink term readers, found on first use
_GENERATION = 0  # bumped by every register(), so what is derived from the registry knows when to derive again


def register(archive: Archive, *, replace: bool = False) -> Archive:
    """Add ``archive`` to the registry (a name may only be taken once unless ``replace``)."""
    with _LOCK:
        known = _REGISTRY.get(archive.name)
        if known is not None and known != archive and not replace:
            raise ConfigError(f"an archive called '{archive.name}' is already registered ({known.package})")
        _REGISTRY[archive.name] = archive
        _forget_terms()
    return archive


def _forget_terms() -> None:
    global _TERMS, _GENERATION
    _TERMS = None
    _GENERATION += 1


def generation() -> tuple[int, int]:
    """A token that changes whenever an archive is registered or the registry replaced (tests swap it), for
    caches of what the registry says."""
    load()
    return id(_REGISTRY), _GENERATION


def load() -> None:
    """Import the built-in archives and the plugins' (once); a broken plugin is logged, never fatal.

    Modules are imported without holding the registry's lock (an archive's folder registers itself when
    imported, perhaps in another thread), so a first use from several threads at once cannot deadlock.
    """
    global _loaded
    if _loaded:
        return
    for name in BUILTIN:  # a folder registers its ARCHIVE when imported; again here if the registry was reset
        register(importlib.import_module(f"{__name__}.{name}").ARCHIVE, replace=True)
    builtin = {f"{__name__}.{name}" for name in BUILTIN}
    from ..plugins import plugins

    for plugin, archive in plugins(ENTRY_POINTS, Archive, "archive", log):
        with _LOCK:
            taken = _REGISTRY.get(archive.name)
        if taken is not None and taken.package in builtin:
            log.warning("archive plugin %s is called '%s', a built-in archive's name; ignored (a plugin cannot "
                        "replace a built-in archive or receive its credentials)", plugin, archive.name)  # fmt: skip
            continue
        register(archive, replace=True)
    _loaded = True


def archives() -> list[Archive]:
    """Every registered archive: the built-in ones in :data:`BUILTIN` order, then the others as registered."""
    load()
    with _LOCK:
        found = list(_REGISTRY.values())
    order = {f"{__name__}.{name}": n for n, name in enumerate(BUILTIN)}
    return sorted(found, key=lambda a: order.get(a.package, len(order)) if _builtin(a) is not None else len(order))


def _builtin(archive: Archive) -> Archive | None:
    """``archive`` if it is a built-in folder's own ARCHIVE (not one made from it, like an ObsCore service)."""
    import sys

    module = sys.modules.get(archive.package)
    return archive if getattr(module, "ARCHIVE", None) is archive else None


def by_name() -> Mapping[str, Archive]:
    """The registry as a mapping, name to :class:`Archive`, in :func:`archives` order."""
    return {a.name: a for a in archives()}


def datalink_terms() -> tuple[Callable[..., Any], ...]:
    """Every archive's reader of its own DataLink semantics (``LinkRow -> core term or None``), so a VO result
    from any archive is read right, whichever archive's code ran before."""
    global _TERMS
    found = _TERMS
    if found is None:
        found = _TERMS = tuple(a.attr(a.datalink_terms) for a in archives() if a.datalink_terms)
    return found


def get(name: str) -> Archive:
    """The archive called ``name`` (any case); the error lists the known ones."""
    load()
    try:
        return _REGISTRY[name] if name in _REGISTRY else _REGISTRY[str(name).strip().lower()]
    except KeyError:
        raise ConfigError(f"unknown archive '{name}'; known archives: {', '.join(by_name())}") from None

