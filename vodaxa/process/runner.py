"""Running steps: tasks that are commands or Python functions, executed on any ``concurrent.futures``
executor (a local pool by default, or ``dask.distributed.Client.get_executor()``), recorded in the ledger.

A task carries everything it needs as plain data, so it can run in another process or on another
machine sharing the file system; the driver alone writes the ledger.  Each task works in a private
directory (with its own ``PFILES`` for CIAO), writes ``logs/<step>_<uid>.log`` (command lines, stdout,
stderr) and succeeds only when every command exits 0 and every expected output exists.
"""

from __future__ import annotations

import concurrent.futures
import glob
import importlib
import os
import shutil
import subprocess
import tempfile
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from .ledger import Entry, Ledger

__all__ = ["ProcessReport", "Task", "TaskResult", "Workspace", "execute", "private_pfiles", "run_step"]


@dataclass(frozen=True)
class Task:
    """One unit of work for one ``uid`` (an observation, or an observation's instrument and sub-exposure).

    ``commands`` run in order in a private working directory (the first failure stops the task);
    ``function`` ("module:name") is called instead with ``kwargs`` for native work.  ``moves`` then
    bring outputs home: ``(glob in the working directory, destination)``.  All paths are absolute.
    """

    step: str
    uid: str
    root: str  # the workspace root; logs go to <root>/processed/logs/
    outputs: tuple[str, ...]  # every file the task must leave behind
    commands: tuple[tuple[str, ...], ...] = ()
    function: str | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    moves: tuple[tuple[str, str], ...] = ()
    timeout: float | None = None  # seconds per command
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskResult:
    """What happened to a task (returned by :func:`execute`, recorded by the driver)."""

    step: str
    uid: str
    ok: bool
    seconds: float
    log: str
    outputs: tuple[str, ...]
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def execute(task: Task) -> TaskResult:
    """Run ``task`` (in whatever process the executor chose); never raises for a task's own failure."""
    started = time.perf_counter()
    logs = Path(task.root) / "processed" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{task.step}_{task.uid}.log"
    error: str | None = None
    extra: dict[str, Any] = {}
    with log.open("w") as out, tempfile.TemporaryDirectory(prefix=f"{task.step}-{task.uid}-",
                                                            dir=logs.parent) as work:  # fmt: skip
        pfiles = Path(work) / "pfiles"
        pfiles.mkdir()
        env = {**os.environ, **task.env, "PFILES": private_pfiles(pfiles, os.environ.get("PFILES", "")),
               "HEADASNOQUERY": "", "HEADASPROMPT": "/dev/null"}  # fmt: skip
        try:
            if task.function:
                module, _, name = task.function.partition(":")
                out.write(f"$ {task.function}({_describe(task.kwargs)})\n")
                answer = getattr(importlib.import_module(module), name)(**task.kwargs)
                extra = dict(answer) if isinstance(answer, Mapping) else {}
            for command in task.commands:
                command = tuple(word.replace("{work}", work) for word in command)  # the private directory
                error = _run(command, Path(work), env, task.timeout, out)
                if error:
                    break
            if not error:
                error = _move(task.moves, Path(work))
        except Exception as err:  # a task's own failure is a result, not a crash of the run
            error = f"{type(err).__name__}: {err}"
            out.write(traceback.format_exc())
        if not error:
            missing = [p for p in task.outputs if not Path(p).exists()]
            if missing:
                error = "expected outputs are missing: " + ", ".join(Path(p).name for p in missing)
        out.write(f"\n# {'ok' if not error else 'FAILED: ' + error}\n")
    root = Path(task.root)
    return TaskResult(
        task.step, task.uid, error is None, time.perf_counter() - started, str(log.relative_to(root)),
        tuple(str(Path(p).relative_to(root)) if Path(p).is_relative_to(root) else p for p in task.outputs),
        error, extra,
    )  # fmt: skip


def private_pfiles(private: Path, current: str) -> str:
    """PFILES with ``private`` first among the user directories (CIAO's "user:dirs;system:dirs"), so
    parallel tasks never share parameter files."""
    user, sep, system = current.partition(";")
    if not sep:
        user, system = "", current
    return f"{private}{':' + user if user else ''};{system}"


def _run(command: Sequence[str], work: Path, env: Mapping[str, str], timeout: float | None, out: Any) -> str | None:
    """One command in ``work``; its output appended to the log; why it failed, or None."""
    out.write(f"$ {' '.join(_quote(c) for c in command)}\n")
    out.flush()
    try:
        done = subprocess.run(list(command), cwd=work, env=dict(env), capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        return f"{command[0]} is not on PATH"
    except subprocess.TimeoutExpired as err:
        out.write(_text(err.stdout) + _text(err.stderr))
        return f"{command[0]} timed out after {timeout:g} s (killed)"
    out.write(done.stdout)
    if done.stderr:
        out.write("--- stderr ---\n" + done.stderr)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        return f"{command[0]} exited with status {done.returncode}: {last[0][:200]}"
    return None


def _move(moves: Iterable[tuple[str, str]], work: Path) -> str | None:
    for patterns, target in moves:
        found: list[str] = []
        for pattern in patterns.split(" | "):  # alternatives, the first that matches wins
            found = found or sorted(glob.glob(str(work / pattern.strip())))
        if not found:
            return f"the tool made no {patterns}"
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(found[0], target)
    return None


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else (value or "")


def _quote(word: str) -> str:
    return f"'{word}'" if any(c in word for c in ' []@;"') else word


def _describe(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


@dataclass
class ProcessReport:
    """The outcome of a step (or a chain): per uid, ok, failed (with reason and log) or skipped."""

    results: list[TaskResult]
    skipped: list[str]  # "step/uid" already done with the same arguments
    root: Path

    @property
    def ok(self) -> list[str]:
        """``step/uid`` of the tasks that succeeded in this run."""
        return [f"{r.step}/{r.uid}" for r in self.results if r.ok]

    @property
    def failed(self) -> Any:
        """A DataFrame of the failures: step, uid, error, log (absolute path)."""
        import pandas as pd

        rows = [{"step": r.step, "uid": r.uid, "error": r.error, "log": str(self.root / r.log)}
                for r in self.results if not r.ok]  # fmt: skip
        return pd.DataFrame(rows, columns=["step", "uid", "error", "log"])

    def __add__(self, other: ProcessReport) -> ProcessReport:
        return ProcessReport(self.results + other.results, self.skipped + other.skipped, self.root)

    def __repr__(self) -> str:
        return f"<ProcessReport ok={len(self.ok)} skipped={len(self.skipped)} failed={len(self.failed)}>"

    def summary(self) -> str:
        """One line per failure (and where its log is), after a count line."""
        lines = [f"{len(self.ok)} done, {len(self.skipped)} already done, {len(self.failed)} failed"]
        lines += [f"  {row.step} {row.uid}: {row.error} (log: {row.log})" for row in self.failed.itertuples()]
        return "\n".join(lines)


class Workspace:
    """A folder of downloaded data (as ``vodaxa.download`` lays it out) and its processing: outputs under
    ``<root>/processed/<mission>/<obs_id>/``, logs under ``processed/logs/``, the ledger beside them."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            from ..errors import ProcessingError

            raise ProcessingError(f"{self.root} is not a folder of downloaded data (vodaxa.download's dest)")
        self.ledger = Ledger(self.root / "processed" / "ledger.json")

    def processed(self, mission: str, obs_id: str, *parts: str) -> Path:
        """Where a product of ``obs_id`` goes."""
        return self.root.joinpath("processed", mission, obs_id, *parts)

    def raw(self, mission: str, obs_id: str) -> Path:
        """The downloaded folder of ``obs_id``."""
        return self.root / mission / obs_id

    def summary(self) -> Any:
        """A DataFrame: one row per (step, uid) with ok, error, seconds and log."""
        import pandas as pd

        rows = [{"step": e.step, "uid": e.uid, "ok": e.ok, "error": e.error, "seconds": round(e.seconds, 2),
                 "log": e.log} for e in self.ledger.entries()]  # fmt: skip
        return pd.DataFrame(rows, columns=["step", "uid", "ok", "error", "seconds", "log"])

    def update(self, executor: concurrent.futures.Executor | None = None) -> ProcessReport:
        """Replay every recorded step, in order, with its recorded arguments: only what is missing runs."""
        from . import STEPS

        report = ProcessReport([], [], self.root)
        for step, args in self.ledger.steps.items():
            if step in STEPS:
                report = report + STEPS[step](self, **args, executor=executor)
        return report

    def quicklooks(
        self,
        missions: Sequence[str] | None = None,
        *,
        pattern: str = "*-image.fits",
        overview: bool = True,
        stretch: Literal["asinh", "log", "sqrt", "linear"] = "asinh",
        rerun: bool = False,
    ) -> list[Path]:
        """Write a quick-look PNG of every image processing made, and one overview figure of them all.

        Each image under ``processed/<mission>/`` whose name matches ``pattern`` (the counts images of
        ``native.reduce`` and of the CIAO chain, by default) gets a PNG beside it, with the same name
        (``x-image.fits`` -> ``x-image.png``), drawn by :func:`vodaxa.plot.quicklook`; the overview,
        :func:`vodaxa.plot.overview` of them all, is ``processed/overview.png``.  A PNG newer than its image is
        kept (``rerun=True`` draws every one again).  An image that cannot be drawn is skipped with a
        :class:`~vodaxa.errors.PartialResultWarning` naming it and why.

        Parameters
        ----------
        missions : sequence of str, optional
            Only these missions' images (default: every mission's).
        pattern : str, optional
            File names taken as images, a glob (default ``"*-image.fits"``; ``"*-ratemap.fits"`` for the rate
            maps, ``"*-expmap.fits"`` for the CIAO chain's exposure maps).
        overview : bool, optional
            Also write the overview figure (default True).
        stretch : {'asinh', 'log', 'sqrt', 'linear'}, optional
            How values map to grey levels (default ``"asinh"``).
        rerun : bool, optional
            Draw every PNG again, even those newer than their image (default False).

        Returns
        -------
        list of pathlib.Path
            The quick-look PNGs, one per image in path order, then the overview (when ``overview`` is true and
            there are images).  Empty when the workspace has no images yet.

        Raises
        ------
        vodaxa.errors.MissingDependencyError
            matplotlib is not installed (``pip install 'vodaxa[plot]'``).

        See Also
        --------
        vodaxa.plot.quicklook : A quick-look of one image.
        vodaxa.plot.overview : Thumbnails of several images.

        Examples
        --------
        >>> import vodaxa
        >>> from vodaxa.process import Workspace, native
        >>> found = vodaxa.search("3C 105", missions=["nustar_pointed"])
        >>> report = vodaxa.download(vodaxa.resolve(found.head(1)), "data/", progress=False)
        >>> ws = Workspace("data/")
        >>> _ = native.reduce(ws)
        >>> pictures = ws.quicklooks()
        >>> pictures[0].name, pictures[-1].relative_to(ws.root).as_posix()
        ('nu..._cl-image.png', 'processed/overview.png')
        """
        import warnings

        from .. import plot
        from ..errors import InputError, PartialResultWarning

        plot.require_matplotlib("Workspace.quicklooks")
        base = self.root / "processed"
        folders = sorted(p for p in base.iterdir() if p.is_dir() and p.name != "logs") if base.is_dir() else []
        images = sorted(
            path for folder in folders if missions is None or folder.name in missions
            for path in folder.rglob(pattern) if path.is_file() and path.suffix.lower() != ".png"
        )  # fmt: skip
        pictures, drawn, fresh = [], [], False
        for image in images:
            png = image.with_suffix(".png")
            try:
                if rerun or not png.is_file() or png.stat().st_mtime < image.stat().st_mtime:
                    plot.quicklook(image, png, stretch=stretch)
                    fresh = True
            except InputError as err:
                warnings.warn(f"no quick-look of {image}: {err}", PartialResultWarning, stacklevel=2)
                continue
            pictures.append(png)
            drawn.append(image)
        if overview and drawn:
            target = base / "overview.png"
            if rerun or fresh or not target.is_file() or any(target.stat().st_mtime < p.stat().st_mtime for p in drawn):
                plot.overview(drawn, target, stretch=stretch,
                              title=f"{self.root.name}: {len(drawn)} image{'s' * (len(drawn) != 1)}")  # fmt: skip
            pictures.append(target)
        return pictures


def run_step(
    workspace: Workspace,
    step: str,
    args: Mapping[str, Any],
    tasks: Sequence[Task],
    *,
    executor: concurrent.futures.Executor | None = None,
    rerun: bool = False,
) -> ProcessReport:
    """Run the tasks of ``step`` not yet done with these arguments; record every result in the ledger.

    ``rerun=True`` runs even completed tasks.  One task's failure never stops the others.
    """
    todo, skipped = [], []
    for task in tasks:
        done = workspace.ledger.succeeded(step, task.uid, args) and all(Path(p).exists() for p in task.outputs)
        if done and not rerun:
            skipped.append(f"{step}/{task.uid}")
        else:
            todo.append(task)
    results = _submit(todo, executor)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    entries = [Entry(r.step, r.uid, r.ok, dict(args), r.seconds, r.log, r.outputs, r.error, now, dict(r.extra))
               for r in results]  # fmt: skip
    workspace.ledger.record(entries, step, args)
    return ProcessReport(results, skipped, workspace.root)


def _submit(tasks: Sequence[Task], executor: concurrent.futures.Executor | None) -> list[TaskResult]:
    if not tasks:
        return []
    own = executor is None
    pool = executor or concurrent.futures.ThreadPoolExecutor(max_workers=min(len(tasks), os.cpu_count() or 2))
    try:
        futures = [pool.submit(execute, task) for task in tasks]
        results = []
        for task, future in zip(tasks, futures, strict=True):
            try:
                results.append(future.result())
            except Exception as err:  # the executor itself failed (a lost worker): still a result
                results.append(
                    TaskResult(task.step, task.uid, False, 0.0, "", (), f"executor: {type(err).__name__}: {err}")
                )
        return results
    finally:
        if own:
            pool.shutdown()
