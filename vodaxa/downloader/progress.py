"""Progress for a download: files and bytes with tqdm.auto (notebook widgets or a terminal), or nothing."""

from __future__ import annotations

import logging
from collections import Counter

__all__ = ["Progress"]

log = logging.getLogger("vodaxa.download")


class Progress:
    """Two bars (files, bytes) plus per-mission counts in the files bar; silent when ``enabled`` is False."""

    def __init__(self, files: int, total_bytes: int | None, *, enabled: bool = True) -> None:
        self.done: Counter[str] = Counter()
        self.failed = 0
        self._files = self._bytes = None
        if enabled and files:
            from tqdm.auto import tqdm

            self._files = tqdm(total=files, desc="files", unit="file", leave=True)
            # unit "iB" with 1024: bars read MiB and GiB, as vodaxa's summaries do
            self._bytes = tqdm(total=total_bytes, desc="bytes", unit="iB", unit_scale=True, unit_divisor=1024)

    def add_bytes(self, count: int) -> None:
        """Count bytes received."""
        if self._bytes is not None:
            self._bytes.update(count)

    def add_file(self, mission: object, *, failed: bool = False) -> None:
        """Count a finished file (per mission, shown beside the files bar)."""
        self.done[str(mission or "other")] += 1
        self.failed += failed
        if self._files is not None:
            self._files.update(1)
            counts = ", ".join(f"{m} {n}" for m, n in sorted(self.done.items()))
            self._files.set_postfix_str(counts + (f", failed {self.failed}" if self.failed else ""), refresh=False)

    def close(self) -> None:
        """Close the bars and log the totals."""
        for bar in (self._files, self._bytes):
            if bar is not None:
                bar.close()
        if self.done:
            log.info("downloaded %s; %d failed", dict(self.done), self.failed)
