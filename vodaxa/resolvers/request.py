"""What an archive's resolver is given: one mission's observations and the user's choices, in one shape."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ResolveError

if TYPE_CHECKING:
    import pandas as pd

    from ..net import HttpClient
    from ..specs.registry import MissionSpec
    from .datalink import DataLinkEngine

__all__ = ["OPTION_HELP", "ResolveRequest"]

#: What each archive-specific option of :func:`vodaxa.resolve` chooses, for the message that refuses it elsewhere.
OPTION_HELP: Mapping[str, str] = {
    "filetypes": "filetypes/exclude select Chandra files",
    "exclude": "filetypes/exclude select Chandra files",
    "mirror": "mirror names a Chandra byobsid/ mirror",
    "calibrations": "calibrations select ESO calibration cascades",
    "semantics": "semantics choose DataLink links, for HEASARC missions, ObsCore tables and VO results",
}


@dataclass(frozen=True)
class ResolveRequest:
    """One mission's observations to turn into files: the spec, its rows, the chosen instruments, whether
    products are wanted, the options the user set (only those), and the shared HTTP client and DataLink engine."""

    spec: MissionSpec
    frame: pd.DataFrame
    chosen: tuple[str, ...]
    products: bool
    http: HttpClient
    engine: DataLinkEngine
    options: Mapping[str, Any] = field(default_factory=dict)

    def option(self, name: str, default: Any = None) -> Any:
        """The user's value of option ``name``, or ``default`` when it was not set."""
        return self.options.get(name, default)

    def refuse(self, names: Iterable[str], why: str = "") -> None:
        """ResolveError for the first of ``names`` the user set: it does not apply to this mission (``why``)."""
        for name in names:
            if name not in self.options:
                continue
            tail = f" ({why})" if why else ""
            if name == "semantics":
                raise ResolveError(
                    f"{OPTION_HELP[name]}; the files of {self.spec.name}{tail} are chosen by its own options "
                    "(products, instruments, filetypes, calibrations). Resolve those observations without "
                    "semantics=, or with semantics='#this'"
                )
            raise ResolveError(f"{OPTION_HELP.get(name, name)}; they do not apply to {self.spec.name}{tail}")
