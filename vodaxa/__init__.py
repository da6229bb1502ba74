"""vodaxa: from "these targets, these missions" to verified files and reduced products, through the VO.

The pipeline reads as the package: missions -> query -> resolve -> manifest -> download -> process::

    import vodaxa
    vodaxa.missions()                                   # what is known
    nu = vodaxa.mission("nustar_pointed")               # DAXA-style filters, evaluated on the server
    nu.filter_on_name("3C 105")
    vodaxa.search(["Coma Cluster", "Perseus Cluster"])  # several missions at once

`mission` and `missions` are defined here.  The other names importable from ``vodaxa`` are documented where
they are defined:

- `vodaxa.search <vodaxa.query.search.search>`: many missions and positions at once;
  `vodaxa.Mission <vodaxa.query.mission.Mission>`: one mission's filters.
- `vodaxa.resolve <vodaxa.resolvers.resolve>`: observations into a
  `vodaxa.Manifest <vodaxa.manifest.Manifest>` of files.
- `vodaxa.download <vodaxa.downloader.download>` and
  `vodaxa.download_async <vodaxa.downloader.download_async>`: a manifest into verified files, with a
  `vodaxa.DownloadReport <vodaxa.downloader.DownloadReport>`.
- `vodaxa.login <vodaxa.auth.login>`, `vodaxa.logout <vodaxa.auth.logout>` and
  `vodaxa.whoami <vodaxa.auth.whoami>`: archive logins.
- `vodaxa.config` and `vodaxa.endpoints <vodaxa.config.endpoints>`: where each service is.
- `vodaxa.errors`, `vodaxa.VodaxaError <vodaxa.errors.VodaxaError>` and
  `vodaxa.VodaxaWarning <vodaxa.errors.VodaxaWarning>`: what can go wrong.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .redact import install_log_filter

if TYPE_CHECKING:  # what the lazy names below are, for type checkers and IDEs
    from datetime import datetime

    import pandas

    from . import config, errors
    from .auth import login, logout, whoami
    from .config import endpoints
    from .downloader import DownloadReport, download, download_async
    from .errors import VodaxaError, VodaxaWarning
    from .manifest import Manifest
    from .query.mission import Mission
    from .query.names import Resolver
    from .query.search import search
    from .query.tap import TapRunner
    from .resolvers import resolve

__version__ = "0.1.0.dev0"

install_log_filter()  # no log record of vodaxa (or of the HTTP libraries under it) shows a credential

#: Public name -> (module, attribute): imported on first use, so ``import vodaxa`` and the CLI start fast
#: (pandas, astropy, pyvo and aiohttp load when a search, resolve or download first needs them).
_LAZY: dict[str, tuple[str, str | None]] = {
    "DownloadReport": (".downloader", "DownloadReport"),
    "Manifest": (".manifest", "Manifest"),
    "Mission": (".query.mission", "Mission"),
    "VodaxaError": (".errors", "VodaxaError"),
    "VodaxaWarning": (".errors", "VodaxaWarning"),
    "config": (".config", None),
    "download": (".downloader", "download"),
    "download_async": (".downloader", "download_async"),
    "endpoints": (".config", "endpoints"),
    "errors": (".errors", None),
    "login": (".auth", "login"),
    "logout": (".auth", "logout"),
    "resolve": (".resolvers", "resolve"),
    "search": (".query.search", "search"),
    "whoami": (".auth", "whoami"),
}

__all__ = [
    "DownloadReport", "Manifest", "Mission", "VodaxaError", "VodaxaWarning", "__version__", "config", "download",
    "download_async", "endpoints", "errors", "login", "logout", "mission", "missions", "resolve", "search", "whoami",
]  # fmt: skip
assert set(__all__) == {*_LAZY, "__version__", "mission", "missions"}


#: Subpackages reachable as attributes after a plain ``import vodaxa`` (``vodaxa.sandbox.activate()``), imported on
#: first use like the names above.
_SUBPACKAGES = frozenset({"archives", "auth", "cli", "downloader", "net", "process", "query", "resolvers", "sandbox",
                          "specs"})  # fmt: skip


def __getattr__(name: str) -> Any:
    """Import a public name, or a subpackage, on first use (PEP 562)."""
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)  # importing it sets the attribute for later lookups
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'vodaxa' has no attribute {name!r}") from None
    value = importlib.import_module(module, __name__)
    value = value if attribute is None else getattr(value, attribute)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBPACKAGES)


def mission(
    name: str,
    insts: str | Iterable[str] | None = None,
    *,
    source: str | None = None,
    runner: TapRunner | None = None,
    resolver: Resolver | None = None,
    now: datetime | None = None,
) -> Mission:
    """A :class:`Mission` by registry name (``vodaxa.missions()`` lists them), ready for DAXA-style filters.

    Parameters
    ----------
    name : str
        The mission's registry name, or a short name (``"nustar"``, ``"xmm"``), in any case.
    insts : str or iterable of str, optional
        The instruments whose data are wanted; None (the default) chooses the mission's default instruments.
    source, runner, resolver, now : optional
        As for :class:`Mission`: another source of the same observations, where queries go, the object-name
        resolver, and the time at which proprietary periods are judged.

    Returns
    -------
    Mission
        The mission, without filters.

    Raises
    ------
    vodaxa.errors.UnknownMissionError
        If ``name`` is not a known mission (the message lists them, and suggests close names).
    vodaxa.errors.VodaxaError
        If an instrument or ``source`` is not one of the mission's.

    See Also
    --------
    missions : The known missions.
    search : Several missions at once.

    Examples
    --------
    >>> import vodaxa
    >>> xmm = vodaxa.mission("xmm", insts=["pn"])
    >>> xmm
    <Mission xmm_pointed: 0 filters, instruments PN>
    >>> xmm.filter_on_name("3C 105")
    >>> len(xmm.filtered_obs_ids) > 0
    True
    """
    from .query.mission import Mission

    return Mission(name, insts, source=source, runner=runner, resolver=resolver, now=now)


def missions() -> pandas.DataFrame:
    """The known missions as a table: name, pretty name, archive, instruments, FoV.

    Alternative sources of a mission (reached through ``Mission(..., source=...)``) are not listed.

    Returns
    -------
    pandas.DataFrame
        One row per listed mission: ``name``, ``pretty_name``, ``archive``, ``instruments`` and
        ``default_instruments`` (comma-joined), and ``fov`` (half-width in degrees, or a dict per instrument).

    Examples
    --------
    >>> import vodaxa
    >>> table = vodaxa.missions()
    >>> list(table.columns)
    ['name', 'pretty_name', 'archive', 'instruments', 'default_instruments', 'fov']
    >>> table.set_index("name").loc["nustar_pointed", "instruments"]
    'FPMA, FPMB'
    """
    from .specs.registry import missions_table

    return missions_table()
