"""What a running sandbox needs beyond vodaxa's own dependencies (the ``vodaxa[sandbox]`` extra), checked up front.

DuckDB (the query engine) and sqlglot (the ADQL parser) serve only the sandbox, so they are an optional extra;
making a sandbox without them fails with a :class:`~vodaxa.errors.SandboxError` that says what to install,
rather than an ImportError from deep inside a shape.
"""

from __future__ import annotations

import importlib

from ..errors import SandboxError

__all__ = ["ENGINE", "INSTALL", "require_engine"]

#: The sandbox's own packages, as their import names (and PyPI names).
ENGINE: tuple[str, ...] = ("duckdb", "sqlglot")
#: The command that installs them.
INSTALL = "pip install 'vodaxa[sandbox]'"


def require_engine() -> None:
    """Raise :class:`SandboxError` naming the command to run when DuckDB or sqlglot cannot be imported."""
    missing = []
    for name in ENGINE:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise SandboxError(
            f"the sandbox archive needs {' and '.join(missing)} (its query engine and ADQL parser), which "
            f"{'is' if len(missing) == 1 else 'are'} not installed; install them with: {INSTALL}"
        )
