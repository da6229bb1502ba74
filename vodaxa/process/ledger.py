"""The success ledger: what ran, with which arguments, how it ended, where its log is, kept beside the data.

One JSON file per workspace (``<root>/processed/ledger.json``), written atomically by the process that
drives the run (workers only return results), so a rerun knows what is done, ``update()`` can replay
each step with its exact arguments, and a failure keeps its log path and reason.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..downloader.partial import write_private

__all__ = ["Entry", "Ledger"]


@dataclass(frozen=True)
class Entry:
    """How one (step, uid) ended."""

    step: str
    uid: str
    ok: bool
    args: Mapping[str, Any]  # the step's arguments, exactly as given (replayed by update())
    seconds: float = 0.0
    log: str | None = None  # path of the log, relative to the workspace root
    outputs: tuple[str, ...] = ()  # paths relative to the workspace root
    error: str | None = None
    finished: str = ""  # ISO time
    extra: Mapping[str, Any] = field(default_factory=dict)


class Ledger:
    """The ledger of one workspace: ``(step, uid) -> Entry`` and each step's last arguments, in order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], Entry] = {}
        self._steps: dict[str, dict[str, Any]] = {}  # step -> last arguments, in first-run order
        if path.exists():
            self._read()

    def _read(self) -> None:
        from ..errors import ProcessingError

        try:
            data = json.loads(self.path.read_text())
            for item in data.get("entries", []):
                item["outputs"] = tuple(item.get("outputs", ()))
                entry = Entry(**item)
                self._entries[(entry.step, entry.uid)] = entry
            self._steps = {str(k): dict(v) for k, v in data.get("steps", {}).items()}
        except (ValueError, TypeError, KeyError) as err:
            raise ProcessingError(
                f"{self.path} is not a readable processing ledger ({err}); move it aside to start afresh"
            ) from None

    def get(self, step: str, uid: str) -> Entry | None:
        """The entry of ``uid`` in ``step``, if it ran."""
        return self._entries.get((step, uid))

    def succeeded(self, step: str, uid: str, args: Mapping[str, Any] | None = None) -> bool:
        """Whether ``step`` finished for ``uid`` (with these arguments, when given)."""
        entry = self._entries.get((step, uid))
        return bool(entry and entry.ok and (args is None or _same(entry.args, args)))

    def entries(self, step: str | None = None) -> Iterator[Entry]:
        """Every entry (of one step)."""
        return (e for e in self._entries.values() if step is None or e.step == step)

    @property
    def steps(self) -> dict[str, dict[str, Any]]:
        """Each step that ran, in order, with the arguments of its last run."""
        return dict(self._steps)

    def record(self, entries: list[Entry], step: str, args: Mapping[str, Any]) -> None:
        """Add a step's results and save (atomically)."""
        with self._lock:
            for entry in entries:
                self._entries[(entry.step, entry.uid)] = entry
            self._steps[step] = dict(args)
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"steps": self._steps, "entries": [asdict(e) for e in self._entries.values()]}
        write_private(self.path, json.dumps(data, indent=1, default=str))


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Arguments compared as they are stored (JSON), so a tuple and a list of the same values agree."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
