"""One exception hierarchy: every vodaxa error is a :class:`VodaxaError` and says what to do next."""

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
    """Root of every error vodaxa raises on purpose; catch this to catch them all.  Its message never holds a
    credential: registered secrets and credential query parameters are redacted (:mod:`vodaxa.redact`)."""

    def __init__(self, *args: object) -> None:
        from .redact import redact

        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


class ConfigError(VodaxaError, ValueError):
    """A setting, endpoint override or configuration file is wrong (the message names file and key)."""


class UnknownMissionError(VodaxaError, KeyError):
    """A mission name that the registry does not know (the message lists the known ones)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ServiceError(VodaxaError):
    """An archive service answered with an error, an unexpected document, or not at all."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        from .redact import redact

        super().__init__(message)
        self.url = redact(url) if url else url
        self.status = status


class QueryError(ServiceError):
    """A TAP query was refused or failed on the server (bad ADQL, unknown column, timeout)."""


class ResolveError(ServiceError):
    """DataLink or a directory listing could not be turned into files."""


class DownloadError(ServiceError):
    """A file could not be fetched or failed verification."""


class AuthError(VodaxaError):
    """Credentials are missing, wrong or expired."""


class NameResolutionError(VodaxaError):
    """An object name could not be turned into coordinates."""


class NoObservationsError(VodaxaError):
    """A filter left no observations (the message names the filter)."""


class InputError(VodaxaError, ValueError):
    """A file or value the user gave is malformed or missing (the message names it and what is expected)."""


class UnknownColumnError(InputError, KeyError):
    """A column name a table does not have (the message lists those it has); a KeyError too, as in pandas."""

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
    """A processing step cannot run (missing inputs, tools or an unreadable ledger); the message says which."""


class CiaoNotFoundError(ProcessingError):
    """CIAO (or its CALDB) is not available: install it and start its environment, or use the native reductions."""


class SandboxError(VodaxaError):
    """The embedded sandbox archive could not start or was misused."""


# ------------------------------------------------------------------------------------------ warnings
class VodaxaWarning(UserWarning):
    """Something worth knowing that did not stop the work; filter a kind with ``warnings.simplefilter``."""


class PartialResultWarning(VodaxaWarning):
    """Part of what was asked for is not in the answer (ObsIDs not in the selection, missions that found nothing
    or failed, a calibration cascade ESO calls incomplete); the message says which."""


class FallbackWarning(VodaxaWarning):
    """A service failed and another source answered instead (the message and ``Mission.answered_by`` say which)."""


class AdjustedInputWarning(VodaxaWarning):
    """An input was read differently from how it was written (corners swapped, characters escaped, a saved
    state replayed with a newer spec); the message says how."""


class RegistryWarning(VodaxaWarning):
    """A VO registry record is duplicated, contradicts another or is unusable; the message says which is kept."""
