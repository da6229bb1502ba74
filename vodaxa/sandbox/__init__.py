"""vodaxa.sandbox: an offline archive on 127.0.0.1 that answers in the real archives' shapes::

    with vodaxa.sandbox.serve(rows=500) as sb:
        print(sb.url, sb.endpoints)   # vodaxa's endpoints point here inside the block

    sb = vodaxa.sandbox.activate(rows=500)   # in a notebook: until sb.stop()

Each archive (HEASARC, ESO, CXC, XSA, eROSITA, CDS) is a shape in ``archives/<archive>/``, with its tables,
targets and layouts as package data in ``data/``, built on the archive-agnostic VO machinery of ``protocols/``;
``server``, ``shapes`` and ``settings`` assemble them.  Rows and files are synthetic and deterministic for a given
config.  Running one needs the ``vodaxa[sandbox]`` extra (DuckDB, sqlglot); importing this package does not.
`vodaxa.sandbox.offline` checks that nothing leaves this machine (the tests and ``vodaxa demo`` run under it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .protocols.faults import Faults
    from .protocols.uws import JobLimits
    from .server import Sandbox, activate, serve, today_mjd
    from .settings import SandboxConfig

__all__ = ["Faults", "JobLimits", "Sandbox", "SandboxConfig", "activate", "serve", "today_mjd"]

#: Loaded on first use: the query engine (DuckDB, sqlglot) and the web apps only when a sandbox is made, so that
#: ``vodaxa.sandbox.offline`` and the pytest plugin (loaded in every pytest run where vodaxa is installed) cost
#: nothing until a test asks for a sandbox.
_LAZY = {"SandboxConfig": ".settings", "Faults": ".protocols.faults", "Sandbox": ".server", "activate": ".server",
         "serve": ".server", "today_mjd": ".server", "JobLimits": ".protocols.uws"}  # fmt: skip


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'vodaxa.sandbox' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
