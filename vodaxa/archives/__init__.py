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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias, cast

from ..errors import ConfigError

if TYPE_CHECKING:  # the pipeline's types, for annotations only: this module stays light
    from ..auth.credentials import Credential, Token
    from ..auth.scoped import Realm
    from ..manifest import Manifest
    from ..resolvers.datalink import LinkRow
    from ..resolvers.request import ResolveRequest

__all__ = ["BUILTIN", "Archive", "archives", "by_name", "datalink_terms", "get", "load", "register"]

#: An archive's resolver: ``async (ResolveRequest) -> Manifest``.
Resolver: TypeAlias = "Callable[[ResolveRequest], Awaitable[Manifest]]"
#: The ``login`` of an archive with ``credentials="token"``: a credential -> a :class:`~vodaxa.auth.Token`.
TokenLogin: TypeAlias = "Callable[[Credential], Token]"
#: The ``login`` of an archive with ``credentials="query"``: (the default credential, the per-ObsID ones) -> the
#: credential query parameters for a URL.
QueryLogin: TypeAlias = "Callable[[Credential | None, Mapping[str, Credential]], Callable[[str], Mapping[str, str]]]"
#: An archive's reader of its own DataLink semantics: a row -> the core term it means, or None.
TermReader: TypeAlias = "Callable[[LinkRow], str | None]"

log = logging.getLogger(__name__)

#: The built-in archives, in the order their missions are listed.
BUILTIN = ("xsa", "heasarc", "cxc", "erosita", "eso", "cds", "regtap", "obscore")
ENTRY_POINTS = "vodaxa.archives"


@dataclass(frozen=True)
class Archive:
    """What vodaxa knows about one archive, in one place.

    An archive's folder (``vodaxa/archives/<name>/``) or a plugin (the ``vodaxa.archives`` entry-point group)
    makes one and registers it (:func:`register`).  Callables may be named as ``"module:attr"`` strings (the module
    relative to ``package`` when it starts with a dot), imported only when first used (:meth:`attr`).

    Parameters
    ----------
    name : str
        The archive's name, a lower-case identifier (``"heasarc"``).
    title : str
        A human name (``"HEASARC (NASA)"``).
    endpoints : collections.abc.Mapping of str to str
        The default service URLs, ``{service: url}`` (users override them, see :mod:`vodaxa.config`).
    package : str, optional
        The package that relative ``"module:attr"`` references and ``missions`` are relative to.
    missions : tuple of str, optional
        The modules (relative to ``package``) whose import registers the archive's mission specs.
    resolver : str or callable, optional
        ``"module:function"`` (or the function itself), an ``async (ResolveRequest) -> Manifest``; None when the
        archive's observations cannot be resolved into files (yet).
    resolve_options : frozenset of str, optional
        The archive-specific options of :func:`vodaxa.resolve` the resolver understands (``"filetypes"``,
        ``"exclude"``, ``"mirror"``, ``"calibrations"``, ``"semantics"``); the others are refused, not ignored.
    max_connections : int, optional
        A ceiling on parallel downloads from the archive's hosts (None: the core's default).
    credentials : {None, "token", "query"}, optional
        How a user's secret travels: ``"token"`` (``login`` makes, from a credential, a
        :class:`~vodaxa.auth.Token`: ``login()``, ``headers()``, ``invalidate()``, ``credential`` and
        ``expires``), ``"query"`` (``login`` makes the per-URL query parameters, see :func:`vodaxa.auth.use`) or
        None (no credentials).
    login : str or callable, optional
        The login factory that ``credentials`` needs (``"module:attr"`` or the callable).
    datalink_terms : str or callable, optional
        A reader of the archive's own DataLink semantics: ``LinkRow -> the core term it means, or None``.
    realm_services : tuple of str, optional
        The services a credential may go to (None: all of ``endpoints``).

    Raises
    ------
    vodaxa.errors.ConfigError
        If the description is malformed (a bad name, endpoints that are not ``{str: str}``, a bad
        ``max_connections`` or ``credentials``, or ``credentials`` without ``login``), naming what is wrong.

    Examples
    --------
    >>> from vodaxa import archives
    >>> heasarc = archives.get("heasarc")
    >>> heasarc.title, sorted(heasarc.endpoints)[:3]
    ('HEASARC (NASA)', ['datalink', 'ftp', 's3'])
    """

    name: str
    title: str
    endpoints: Mapping[str, str]
    package: str = ""
    missions: tuple[str, ...] = ()
    resolver: str | Resolver | None = None
    resolve_options: frozenset[str] = frozenset()
    max_connections: int | None = None  # ceiling on parallel downloads from its hosts (None: the core's default)
    credentials: str | None = None
    login: str | TokenLogin | QueryLogin | None = None
    datalink_terms: str | TermReader | None = None  # LinkRow -> the core term its own semantics mean
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

    def attr(self, ref: object) -> object:
        """The object a ``"module:attr"`` reference names, imported on first use.

        Parameters
        ----------
        ref : str or object
            ``"module:attr"`` (the module relative to the archive's package when it starts with a dot), or the
            object itself (a resolver defined in a script or notebook), returned as it is.

        Returns
        -------
        object
            The attribute named: the resolver, login factory or term reader the field holding ``ref`` describes.
        """
        if not isinstance(ref, str):
            return ref
        module, _, name = ref.partition(":")
        target = importlib.import_module(module if not module.startswith(".") else self.package + module)
        return getattr(target, name)

    def realm(self, *, allow_http_loopback: bool = False) -> Realm:
        """Where this archive's credential may go: its ``realm_services``' URLs as the user configured them, never
        URLs found in the VO registry.

        Parameters
        ----------
        allow_http_loopback : bool, optional
            Let the credential go over plain http to this machine (the sandbox).

        Returns
        -------
        vodaxa.auth.Realm
            The realm, named after the archive.
        """
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
_TERMS: tuple[TermReader, ...] | None = None  # the archives' DataLink term readers, found on first use
_GENERATION = 0  # bumped by every register(), so what is derived from the registry knows when to derive again


def register(archive: Archive, *, replace: bool = False) -> Archive:
    """Add an archive to the registry.

    Parameters
    ----------
    archive : Archive
        The archive to add.
    replace : bool, optional
        Replace an archive of the same name (False by default: a name may only be taken once, though registering
        the same description again is no error).

    Returns
    -------
    Archive
        ``archive``, so a folder can write ``ARCHIVE = register(Archive(...))``.

    Raises
    ------
    vodaxa.errors.ConfigError
        If another archive already has the name and ``replace`` is False.
    """
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

    A plugin named like a built-in archive is ignored with a warning (it cannot replace a built-in archive or
    receive its credentials).

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
    """Every registered archive, the built-in ones and the plugins' loaded on first use.

    Returns
    -------
    list of Archive
        The built-in ones in :data:`BUILTIN` order, then the others as registered.

    Examples
    --------
    >>> from vodaxa import archives
    >>> [archive.name for archive in archives.archives()][:5]
    ['xsa', 'heasarc', 'cxc', 'erosita', 'eso']
    """
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
    """The registry as a mapping.

    Returns
    -------
    collections.abc.Mapping of str to Archive
        Name -> :class:`Archive`, in :func:`archives` order.
    """
    return {a.name: a for a in archives()}


def datalink_terms() -> tuple[TermReader, ...]:
    """Every archive's reader of its own DataLink semantics, so a VO result from any archive is read right,
    whichever archive's code ran before.

    Returns
    -------
    tuple of callable
        Each ``LinkRow -> core term or None`` (HEASARC's reads ``products.jsp#nustar.obs`` as ``#this``), found on
        first use and again after an archive is registered.
    """
    global _TERMS
    found = _TERMS
    if found is None:
        found = _TERMS = tuple(cast("TermReader", a.attr(a.datalink_terms)) for a in archives() if a.datalink_terms)
    return found


def get(name: str) -> Archive:
    """The archive of a name.

    Parameters
    ----------
    name : str
        The archive's name, any case.

    Returns
    -------
    Archive
        Its description.

    Raises
    ------
    vodaxa.errors.ConfigError
        If no archive has the name (the message lists the known ones).
    """
    load()
    try:
        return _REGISTRY[name] if name in _REGISTRY else _REGISTRY[str(name).strip().lower()]
    except KeyError:
        raise ConfigError(f"unknown archive '{name}'; known archives: {', '.join(by_name())}") from None

