"""DownloadReport: what one :func:`vodaxa.download` call did, file by file, and how to try the rest again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .._lazy import LazyModule
from ..redact import redact

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = LazyModule("pandas")  # imported when a table is asked for

__all__ = ["DownloadReport", "FileResult"]


@dataclass(frozen=True)
class FileResult:
    """The outcome for one file of a download: fetched, skipped or failed, and why.

    Parameters
    ----------
    url : str
        The file's URL.
    path : pathlib.Path
        Where the file is (or would have been): the server's name or the unpacked file's when either applies.
    status : {'ok', 'skipped', 'failed'}
        ``ok``: fetched and verified in this call; ``skipped``: already complete on disk; ``failed``: see ``reason``.
    bytes : int, optional
        Bytes received over the network for this file in this call (default 0).
    reason : str, optional
        Why the file failed (empty otherwise); credentials a library's message quoted are redacted.
    row : dict, optional
        The manifest row the file came from, for :meth:`DownloadReport.retry` (not shown in the repr).
    """

    url: str
    path: Path
    status: str
    bytes: int = 0  # bytes received over the network for this file in this call
    reason: str = ""
    row: dict[str, object] = field(default_factory=dict, repr=False)  # the manifest row, for retry()

    def __post_init__(self) -> None:
        if self.reason:  # a reason may quote a library's message holding the URL it was sent to
            object.__setattr__(self, "reason", redact(self.reason))


@dataclass
class DownloadReport:
    """What one :func:`vodaxa.download` call did: files fetched (``ok``), already complete (``skipped``), ``failed``.

    :meth:`retry` downloads the failures again with the same options.

    Parameters
    ----------
    results : list of FileResult
        One result per file, in the order the files finished.
    elapsed : float
        Seconds the call took.
    _again : callable, optional
        Downloads a list of failed results again and returns their report (:meth:`retry`); None: nothing to retry
        with. :func:`vodaxa.download` sets it.

    Examples
    --------
    >>> import vodaxa
    >>> manifest = vodaxa.resolve(vodaxa.search(["3C 105"], missions=["nustar_pointed"]))
    >>> report = vodaxa.download([manifest.urls[0], manifest.urls[1] + ".missing"], "data/", progress=False)
    >>> report
    <DownloadReport ok=1 skipped=0 failed=1 bytes=... elapsed=...s>
    >>> list(report.failed.columns)
    ['url', 'path', 'reason']
    >>> print(report.errors[0])
    http://127.0.0.1:.../nu..._fpm.att.gz.missing: the server answered 404 Not Found
    >>> report.retry()  # the server still has no such file
    <DownloadReport ok=0 skipped=0 failed=1 bytes=0 elapsed=...s>
    """

    results: list[FileResult]
    elapsed: float
    _again: Callable[[list[FileResult]], DownloadReport] | None = field(default=None, repr=False)

    def _with(self, status: str) -> list[Path]:
        return [r.path for r in self.results if r.status == status]

    @property
    def ok(self) -> list[Path]:
        """Paths fetched and verified in this call (list of pathlib.Path)."""
        return self._with("ok")

    @property
    def skipped(self) -> list[Path]:
        """Paths already complete on disk, not fetched again (list of pathlib.Path).

        No network was used for them, except one range probe for a file of unknown size that vodaxa did not
        install itself.
        """
        return self._with("skipped")

    @property
    def failed(self) -> pd.DataFrame:
        """The failed files, one row each (a pandas.DataFrame with columns url, path and reason)."""
        rows = [{"url": redact(r.url), "path": str(r.path), "reason": r.reason} for r in self.results
                if r.status == "failed"]  # fmt: skip
        return pd.DataFrame(rows, columns=["url", "path", "reason"])

    @property
    def errors(self) -> list[str]:
        """The failure reasons, one line per failed file (list of str), each starting with the file's URL."""
        failed = [r for r in self.results if r.status == "failed"]
        return [r.reason if r.reason.startswith(redact(r.url)) else f"{redact(r.url)}: {r.reason}" for r in failed]

    @property
    def bytes(self) -> int:
        """Bytes received over the network in this call (int)."""
        return sum(r.bytes for r in self.results)

    def retry(self) -> DownloadReport:
        """Download the failed files again with the same options; partial files resume.

        Returns
        -------
        DownloadReport
            The new report, of the failed files only (an empty one when nothing failed).
        """
        failed = [r for r in self.results if r.status == "failed"]
        if not failed or self._again is None:
            return DownloadReport([], 0.0, self._again)
        return self._again(failed)

    def __repr__(self) -> str:
        return (
            f"<DownloadReport ok={len(self.ok)} skipped={len(self.skipped)} failed={len(self.errors)} "
            f"bytes={self.bytes:,} elapsed={self.elapsed:.2f}s>"
        )
