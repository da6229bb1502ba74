"""What an archive's resolver is given: one mission's observations and the user's choices, in one shape."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeAlias, overload

from ..errors import ResolveError

if TYPE_CHECKING:
    import pandas as pd

    from ..net import HttpClient
    from ..specs.registry import MissionSpec
    from .datalink import DataLinkEngine, Semantics

__all__ = ["OPTION_HELP", "ResolveRequest"]

#: The value of an archive-specific option of :func:`vodaxa.resolve`: ``mirror`` and ``calibrations`` are text,
#: ``filetypes`` and ``exclude`` lists of file types, ``semantics`` a tuple of DataLink terms.
OptionValue: TypeAlias = "str | Iterable[str]"

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
    """One mission's observations to turn into files, as :func:`vodaxa.resolve` hands them to the archive's
    resolver (an :class:`~vodaxa.archives.Archive`'s ``resolver``, ``async (ResolveRequest) -> Manifest``).

    Parameters
    ----------
    spec : vodaxa.specs.registry.MissionSpec
        The mission's spec.
    frame : pandas.DataFrame
        Its observations to resolve (vodaxa's normalised columns, ``obs_id`` first among them).
    chosen : tuple of str
        The instruments chosen (canonically spelt).
    products : bool
        Whether processed products are wanted beside the raw data.
    http : vodaxa.net.HttpClient
        The HTTP client shared by the whole resolution (credentials attached).
    engine : vodaxa.resolvers.datalink.DataLinkEngine
        The DataLink engine shared by the whole resolution (caps learned once).
    options : collections.abc.Mapping of str to str or iterable of str, optional
        The archive-specific options the user set, and only those (``filetypes``, ``exclude``, ``mirror``,
        ``calibrations``, ``semantics``); read them with :meth:`option`.
    """

    spec: MissionSpec
    frame: pd.DataFrame
    chosen: tuple[str, ...]
    products: bool
    http: HttpClient
    engine: DataLinkEngine
    options: Mapping[str, OptionValue] = field(default_factory=dict)

    @overload
    def option(self, name: Literal["mirror", "calibrations"], default: None = None) -> str | None: ...

    @overload
    def option(self, name: Literal["mirror", "calibrations"], default: str) -> str: ...

    @overload
    def option(self, name: Literal["filetypes", "exclude"], default: None = None) -> Iterable[str] | None: ...

    @overload
    def option(self, name: Literal["semantics"], default: Semantics) -> Semantics: ...

    @overload
    def option(self, name: str, default: object = None) -> object: ...

    def option(self, name: str, default: object = None) -> object:
        """The user's value of an option, or a default when it was not set.

        Parameters
        ----------
        name : str
            The option (``"filetypes"``, ``"exclude"``, ``"mirror"``, ``"calibrations"`` or ``"semantics"``).
        default : object, optional
            What to answer when the user did not set it (None by default).

        Returns
        -------
        object
            The value: a str for ``mirror`` and ``calibrations``, an iterable of str for ``filetypes`` and
            ``exclude``, a tuple of terms for ``semantics``; else ``default``.
        """
        return self.options.get(name, default)

    def refuse(self, names: Iterable[str], why: str = "") -> None:
        """Refuse the options that do not apply to this mission: a ResolveError for the first of ``names`` the
        user set, rather than an option silently ignored.

        Parameters
        ----------
        names : iterable of str
            The options that do not apply (those the user did not set are passed over).
        why : str, optional
            Why not, added to the message.

        Raises
        ------
        vodaxa.errors.ResolveError
            If the user set one of ``names``; the message says what the option chooses, and (for
            ``semantics``) how this mission's files are chosen instead.
        """
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
