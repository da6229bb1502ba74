"""DownloadReport: what one :func:`vodaxa.download` call did, file by file, and how to try the rest again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..redact import redact

__all__ = ["DownloadReport", "FileResult"]


@dataclass(frozen=True)
class FileResult:
    """The outcome for one file: ``status`` is ``ok``, ``skipped`` or ``failed`` (with ``reason``)."""

    url: str
    path: Path
    status: str
    bytes: int = 0  # bytes received over the network for this file in this call
    reason: str = ""
    row: dict[str, Any] = field(default_factory=dict, repr=False)  # the manifest row, for retry()

    def __post_init__(self) -> None:
        if self.reason:  # a reason may quote a library's message holding the URL it was sent to
            object.__setattr__(self, "reason", redact(self.reason))


@dataclass
class DownloadReport:
    """Files fetched (``ok``), already complete (``skipped``), ``failed`` with reasons; ``retry()`` redoes failures."""

    results: list[FileResult]
    elapsed: float
    _again: Callable[[list[FileResult]], DownloadReport] | None = field(default=None, repr=False)

    def _with(self, status: str) -> list[Path]:
        return [r.path for r in self.results if r.status == status]

    @property
    def ok(self) -> list[Path]:
        """Paths fetched and verified in this call."""
        return self._with("ok")

    @property
    def skipped(self) -> list[Path]:
        """Paths already complete on disk, not fetched again (no network used, except one range probe for a
        file of unknown size that vodaxa did not install itself)."""
        return self._with("skipped")

    @property
    def failed(self) -> pd.DataFrame:
        """One row per failed file: url, path, reason."""
        rows = [{"url": redact(r.url), "path": str(r.path), "reason": r.reason} for r in self.results
                if r.status == "failed"]  # fmt: skip
        return pd.DataFrame(rows, columns=["url", "path", "reason"])

    @property
    def errors(self) -> list[str]:
        """The failure reasons, one line per failed file."""
        failed = [r for r in self.results if r.status == "failed"]
        return [r.reason if r.reason.startswith(redact(r.url)) else f"{redact(r.url)}: {r.reason}" for r in failed]

    @property
    def bytes(self) -> int:
        """Bytes received over the network in this call."""
        return sum(r.bytes for r in self.results)

    def retry(self) -> DownloadReport:
        """Download the failed files again (partial files resume) and return the new report."""
        failed = [r for r in self.results if r.status == "failed"]
        if not failed or self._again is None:
            return DownloadReport([], 0.0, self._again)
        return self._again(failed)

    def __repr__(self) -> str:
        return (
            f"<DownloadReport ok={len(self.ok)} skipped={len(self.skipped)} failed={len(self.failed)} "
            f"bytes={self.bytes:,} elapsed={self.elapsed:.2f}s>"
        )
