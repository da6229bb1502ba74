"""vodaxa: from "these targets, these missions" to verified files and reduced products, through the VO.

The pipeline reads as the package: missions -> query -> resolve -> manifest -> download -> process.

    import vodaxa
    vodaxa.missions()                                   # what is known
    nu = vodaxa.mission("nustar_pointed")               # DAXA-style filters, evaluated on the server
    nu.filter_on_name("3C 105")
    vodaxa.search(["Coma Cluster", "Perseus Cluster"])  # several missions at once
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import config, errors
from .auth import login, logout, whoami
from .config import endpoints
from .download import DownloadReport, download, download_async
from .errors import VodaxaError
from .manifest import Manifest
from .mission import Mission
from .redact import install_log_filter
from .resolve import resolve
from .search import missions_table, search

__version__ = "0.1.0.dev0"

install_log_filter()  # no log record of vodaxa (or of the HTTP libraries under it) shows a credential

__all__ = [
    "DownloadReport",
    "Manifest",
    "Mission",
    "VodaxaError",
    "__version__",
    "config",
    "download",
    "download_async",
    "endpoints",
    "errors",
    "login",
    "logout",
    "mission",
    "missions",
    "resolve",
    "search",
    "whoami",
]


def mission(name: str, insts: str | Iterable[str] | None = None, **options: Any) -> Mission:
    """A :class:`Mission` by registry name (``vodaxa.missions()`` lists them)."""
    return Mission(name, insts, **options)


def missions() -> pandas.DataFrame:  # noqa: F821 - pandas is imported lazily by missions_table
    """The known missions as a table: name, pretty name, archive, instruments, FoV."""
    return missions_table()
