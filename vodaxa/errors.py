"""One exception hierarchy: every vodaxa error is a :class:`VodaxaError` and says what to do next.

Errors are raised for what stops the work; warnings (:class:`VodaxaWarning` and its kinds) say what did not
stop it.  Catch :class:`VodaxaError` to catch every error vodaxa raises on purpose; each kind below is also the
built-in exception it resembles where that helps (a :class:`ConfigError` is a ``ValueError``, an
:class:`UnknownMissionError` a ``KeyError``).
"""

from __future__ import annotations

__all__ = [
    "AdjustedInputWarning",
    "AuthError",
    "CiaoNotFoundError",
    "ConfigError",
    "DownloadError",
    "FallbackWarning",
    "InputError",
    "MissingDependencyError",
    "NameResolutionError",
    "NoObservationsError",
    "PartialResultWarning",
    "ProcessingError",
    "QueryError",
    "RegistryWarning",
    "ResolveError",
    "SandboxError",
    "ServiceError",
    "UnknownColumnError",
    "UnknownMissionError",
    "VodaxaError",
    "VodaxaWarning",
]


class VodaxaError(Exception):
    """Root of every error vodaxa raises on purpose; catch this to catch them all.

    Its message never holds a credential: registered secrets and credential query parameters are redacted
    (:mod:`vodaxa.redact`).

    Parameters
    ----------
    *args : object
        The message (a str, which says what to do next) and any further arguments, as for ``Exception``.

    Examples
    --------
    >>> import vodaxa
    >>> try:
    ...     vodaxa.mission("no_such_mission")
    ... except vodaxa.VodaxaError as err:
    ...     print(type(err).__name__)
    UnknownMissionError
    """

    def __init__(self, *args: object) -> None:
        from .redact import redact

        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


class ConfigError(VodaxaError, ValueError):
    """Raised when a setting, an endpoint override or a configuration file is wrong (the message names the file
    and key), or an archive is unknown to the registry or described wrongly.

    Parameters
    ----------
    *args : object
        The message (a str, which says what to do next) and any further arguments, as for ``Exception``.
    """


class UnknownMissionError(VodaxaError, KeyError):
    """Raised when a mission name is not known to the registry (the message lists the known ones); a
    ``KeyError`` too.

    Parameters
    ----------
    *args : object
        The message (a str, which says what to do next) and any further arguments, as for ``Exception``.
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ServiceError(VodaxaError):
    """Raised when an archive service answered with an error, an unexpected document, or not at all.

    Parameters
    ----------
    message : str
        What went wrong and what to do next.
    url : str, optional
        The URL concerned (kept as :attr:`url`, without credentials).
    status : int, optional
        The HTTP status the service answered, if any (kept as :attr:`status`).

    Attributes
    ----------
    url : str or None
        The URL concerned, credentials redacted.
    status : int or None
        The HTTP status, if the service answered one.
    """

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        from .redact import redact

        super().__init__(message)
        self.url = redact(url) if url else url
        self.status = status


class QueryError(ServiceError):
    """Raised when a TAP query was refused or failed on the server (bad ADQL, unknown column, timeout).

    Parameters
    ----------
    message : str
        What went wrong and what to do next.
    url : str, optional
        The URL concerned (kept as :attr:`url`, without credentials).
    status : int, optional
        The HTTP status the service answered, if any (kept as :attr:`status`).
    """


class ResolveError(ServiceError):
    """Raised when DataLink or a directory listing could not be turned into files, or a resolve option does not
    apply to the observations given.

    Parameters
    ----------
    message : str
        What went wrong and what to do next.
    url : str, optional
        The URL concerned (kept as :attr:`url`, without credentials).
    status : int, optional
        The HTTP status the service answered, if any (kept as :attr:`status`).
    """


class DownloadError(ServiceError):
    """Raised when a file could not be fetched or failed verification.

    Parameters
    ----------
    message : str
        What went wrong and what to do next.
    url : str, optional
        The URL concerned (kept as :attr:`url`, without credentials).
    status : int, optional
        The HTTP status the service answered, if any (kept as :attr:`status`).
    """


class AuthError(VodaxaError):
    """Raised when credentials are missing, wrong or expired, or asked of an archive that takes none.

    Parameters
    ----------
    *args : object
        The message (a str, which says what to do next) and any further arguments, as for ``Exception``.
    """


class NameResolutionError(VodaxaError):
    """Raised when an object name could not be turned into coordinates.

    Parameters
    ----------
    *args : object
        The message (a str, which says what to do next) and any further arguments, as for ``Exception``.
    """


class NoObservationsError(VodaxaError):
    """Raised when a filter left no observations (the message names the filter).

    Parameters
    ----------
    *args : object
        The message (a str, which says what to do next) and any further arguments, as for ``Exception``.
    """


class InputError(VodaxaError, ValueError):
    """Raised when a file or value the user gave is malformed or missing (the message names it and what is
    expected); a ``ValueError`` too.

    Parameters
    ----------
    *args : object
        The message (a str, which says what to do next) and any further arguments, as for ``Exception``.
    """


class UnknownColumnError(InputError, KeyError):
    """Raised when a table has no column of the name asked for (the message lists those it has); a ``KeyError``
    too, as in pandas.

    Parameters
    ----------
    *args : object
        The message (a str, which says what to do next) and any further arguments, as for ``Exception``.
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class MissingDependencyError(VodaxaError, ImportError):
    """An optional dependency a feature needs is not installed (an ImportError too).

    The message names the feature, the package it needs and the extra that installs it, e.g.
    ``pip install 'vodaxa[plot]'`` for the sky plots and quick-looks of :mod:`vodaxa.plot` (matplotlib).

    Parameters
    ----------
    *args : object
        The message, as for any exception.

    See Also
    --------
    vodaxa.plot : Sky plots and quick-looks, which need matplotlib.
    """


class ProcessingError(VodaxaError):
    """Raised when a processing step cannot run (missing inputs, tools or an unreadable ledger); the message says
    which.

    Parameters
    ----------
    *args : object
        The message (a str, which says what to do next) and any further arguments, as for ``Exception``.
    """


class CiaoNotFoundError(ProcessingError):
    """Raised when CIAO (or its CALDB) is not available: install it and start its environment, or use the native
    reductions.

    Parameters
    ----------
    *args : object
        The message (a str, which says what to do next) and any further arguments, as for ``Exception``.
    """


class SandboxError(VodaxaError):
    """Raised when the embedded sandbox archive could not start or was misused.

    Parameters
    ----------
    *args : object
        The message (a str, which says what to do next) and any further arguments, as for ``Exception``.
    """


# ------------------------------------------------------------------------------------------ warnings
class VodaxaWarning(UserWarning):
    """Root of vodaxa's warnings: something worth knowing that did not stop the work.

    Filter a kind with ``warnings.simplefilter``, e.g. ``warnings.simplefilter("ignore", FallbackWarning)``.
    """


class PartialResultWarning(VodaxaWarning):
    """Warned when part of what was asked for is not in the answer (ObsIDs not in the selection, missions that
    found nothing or failed, a calibration cascade ESO calls incomplete); the message says which."""


class FallbackWarning(VodaxaWarning):
    """Warned when a service failed and another source answered instead (the message and
    ``Mission.answered_by`` say which)."""


class AdjustedInputWarning(VodaxaWarning):
    """Warned when an input was read differently from how it was written (corners swapped, characters escaped,
    a saved state replayed with a newer spec); the message says how."""


class RegistryWarning(VodaxaWarning):
    """Warned when a VO registry record is duplicated, contradicts another or is unusable; the message says which
    is kept."""
