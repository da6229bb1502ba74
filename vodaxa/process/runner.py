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
from typing import TYPE_CHECKING, Any, Literal, TextIO

from .ledger import Entry, Ledger

if TYPE_CHECKING:
    import pandas as pd

    from ..typing import PathLike

__all__ = ["ProcessReport", "Task", "TaskResult", "Workspace", "execute", "private_pfiles", "run_step"]


@dataclass(frozen=True)
class Task:
    """One unit of work for one ``uid`` (an observation, or an observation's instrument and sub-exposure).

    A task carries everything it needs as plain data, so it can run in another process or on another machine
    sharing the file system (:func:`execute` runs it).  All paths are absolute.

    Parameters
    ----------
    step : str
        The step the task belongs to (its name in the ledger, e.g. ``"native_reduce"``).
    uid : str
        What the task works on, unique within the step (e.g. ``"chandra-22386-acis"``).
    root : str
        The workspace root; the log goes to ``<root>/processed/logs/<step>_<uid>.log``.
    outputs : tuple of str
        Every file the task must leave behind; it fails when one is missing.
    commands : tuple of tuple of str, optional
        Command lines run in order in a private working directory (``{work}`` in a word is replaced by that
        directory); the first failure stops the task. By default none.
    function : str, optional
        ``"module:name"`` of a Python function called (before any commands) with ``kwargs``, for native work;
        a mapping it returns is kept as the result's ``extra``. By default none.
    kwargs : mapping of str to object, optional
        The keyword arguments of ``function``: plain data (picklable). By default none.
    moves : tuple of tuple of str, optional
        ``(glob in the working directory, destination)`` pairs that bring outputs home after the commands;
        alternatives in one glob are separated by ``" | "``, the first that matches wins. By default none.
    timeout : float, optional
        Seconds each command may run before it is killed (and the task fails). By default no limit.
    env : mapping of str to str, optional
        Environment variables added for the commands (besides the task's private ``PFILES``). By default none.
    """

    step: str
    uid: str
    root: str  # the workspace root; logs go to <root>/processed/logs/
    outputs: tuple[str, ...]  # every file the task must leave behind
    commands: tuple[tuple[str, ...], ...] = ()
    function: str | None = None
    kwargs: Mapping[str, object] = field(default_factory=dict)
    moves: tuple[tuple[str, str], ...] = ()
    timeout: float | None = None  # seconds per command
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskResult:
    """What happened to a task (returned by :func:`execute`, recorded in the ledger by the driver).

    Parameters
    ----------
    step : str
        The task's step.
    uid : str
        The task's uid.
    ok : bool
        Whether every command exited 0 and every expected output exists.
    seconds : float
        How long the task took.
    log : str
        The task's log, relative to the workspace root (empty when the executor lost the task).
    outputs : tuple of str
        The task's outputs, relative to the workspace root when inside it.
    error : str, optional
        Why the task failed (None when it succeeded).
    extra : mapping of str to object, optional
        What the task's function returned, when a mapping (e.g. event counts); empty otherwise.
    """

    step: str
    uid: str
    ok: bool
    seconds: float
    log: str
    outputs: tuple[str, ...]
    error: str | None = None
    extra: Mapping[str, object] = field(default_factory=dict)


def execute(task: Task) -> TaskResult:
    """Run ``task``, in whatever process the executor chose; never raises for a task's own failure.

    The task works in a private directory (with its own ``PFILES`` for CIAO) under ``<root>/processed/``, writes
    ``logs/<step>_<uid>.log`` (command lines, stdout, stderr) and succeeds only when every command exits 0 and
    every expected output exists.

    Parameters
    ----------
    task : Task
        What to run.

    Returns
    -------
    TaskResult
        How it ended; a failure (a command's exit status, a timeout, an exception of the function, a missing
        output) is in its ``error``.

    Examples
    --------
    >>> import os
    >>> from vodaxa.process import Task, execute
    >>> task = Task("demo", "one", os.path.abspath("."), outputs=(), function="os.path:isdir", kwargs={"s": "."})
    >>> result = execute(task)
    >>> result.ok, result.log
    (True, 'processed/logs/demo_one.log')
    >>> execute(Task("demo", "two", os.path.abspath("."), outputs=(), commands=(("false",),))).error
    'false exited with status 1: '
    """
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


def _run(command: Sequence[str], work: Path, env: Mapping[str, str], timeout: float | None, out: TextIO) -> str | None:
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


def _describe(kwargs: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


@dataclass
class ProcessReport:
    """The outcome of a step (or a chain of steps): per uid, ok, failed (with reason and log) or skipped.

    Reports add up: ``report_a + report_b`` holds both.

    Parameters
    ----------
    results : list of TaskResult
        The tasks that ran.
    skipped : list of str
        ``"step/uid"`` of the tasks already done with the same arguments, not run again.
    root : pathlib.Path
        The workspace root (logs are relative to it).
    """

    results: list[TaskResult]
    skipped: list[str]  # "step/uid" already done with the same arguments
    root: Path

    @property
    def ok(self) -> list[str]:
        """``step/uid`` of the tasks that succeeded in this run (list of str)."""
        return [f"{r.step}/{r.uid}" for r in self.results if r.ok]

    @property
    def failed(self) -> pd.DataFrame:
        """The failures, one row each (a pandas.DataFrame with columns step, uid, error and log, an absolute path)."""
        import pandas as pd

        rows = [{"step": r.step, "uid": r.uid, "error": r.error, "log": str(self.root / r.log)}
                for r in self.results if not r.ok]  # fmt: skip
        return pd.DataFrame(rows, columns=["step", "uid", "error", "log"])

    def __add__(self, other: ProcessReport) -> ProcessReport:
        return ProcessReport(self.results + other.results, self.skipped + other.skipped, self.root)

    def __repr__(self) -> str:
        return f"<ProcessReport ok={len(self.ok)} skipped={len(self.skipped)} failed={len(self.failed)}>"

    def summary(self) -> str:
        """Describe the run: a count line, then one line per failure and where its log is.

        Returns
        -------
        str
            ``"<n> done, <n> already done, <n> failed"`` and the failures' lines.
        """
        lines = [f"{len(self.ok)} done, {len(self.skipped)} already done, {len(self.failed)} failed"]
        lines += [f"  {row.step} {row.uid}: {row.error} (log: {row.log})" for row in self.failed.itertuples()]
        return "\n".join(lines)


class Workspace:
    """A folder of downloaded data (as :func:`vodaxa.download` lays it out) and its processing.

    Outputs go under ``<root>/processed/<mission>/<obs_id>/``, logs under ``processed/logs/``, and the ledger
    (``processed/ledger.json``) beside them records every step's arguments and how each task ended, so a rerun
    does only what is missing.

    Parameters
    ----------
    root : str or os.PathLike
        The folder :func:`vodaxa.download` filled (its ``dest``); ``~`` is expanded.

    Attributes
    ----------
    root : pathlib.Path
        The folder, absolute.
    ledger : vodaxa.process.ledger.Ledger
        What ran, with which arguments, and how it ended.

    Raises
    ------
    vodaxa.errors.ProcessingError
        When ``root`` is not a folder.

    See Also
    --------
    vodaxa.process.native.reduce : Filtering, flare GTIs, images and rate maps without CIAO.
    vodaxa.process.chandra.full_process_chandra : The CIAO chain, as DAXA runs it.

    Examples
    --------
    >>> import vodaxa
    >>> from vodaxa.process import Workspace, native
    >>> observations = vodaxa.search(["3C 105"], missions=["chandra"])
    >>> report = vodaxa.download(vodaxa.resolve(observations), "data/", progress=False)
    >>> ws = Workspace("data/")
    >>> reduced = native.reduce(ws)  # no CIAO needed: every downloaded event list
    >>> reduced.failed.empty, len(reduced.ok) == len(observations)
    (True, True)
    >>> list(ws.summary().columns)
    ['step', 'uid', 'ok', 'error', 'seconds', 'log']
    >>> ws.update()  # replays every recorded step: nothing is missing
    <ProcessReport ok=0 skipped=... failed=0>
    """

    def __init__(self, root: PathLike) -> None:
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            from ..errors import ProcessingError

            raise ProcessingError(f"{self.root} is not a folder of downloaded data (vodaxa.download's dest)")
        self.ledger = Ledger(self.root / "processed" / "ledger.json")

    def processed(self, mission: str, obs_id: str, *parts: str) -> Path:
        """Where a product of ``obs_id`` goes: ``<root>/processed/<mission>/<obs_id>/<parts...>``.

        Parameters
        ----------
        mission : str
            The mission's name, as in the download's folders (e.g. ``"chandra"``).
        obs_id : str
            The observation.
        *parts : str
            Folders and file name below the observation's product folder.

        Returns
        -------
        pathlib.Path
            The path (not made).
        """
        return self.root.joinpath("processed", mission, obs_id, *parts)

    def raw(self, mission: str, obs_id: str) -> Path:
        """The downloaded folder of ``obs_id``: ``<root>/<mission>/<obs_id>``.

        Parameters
        ----------
        mission : str
            The mission's name, as in the download's folders (e.g. ``"chandra"``).
        obs_id : str
            The observation.

        Returns
        -------
        pathlib.Path
            The folder (which may not exist).
        """
        return self.root / mission / obs_id

    def summary(self) -> pd.DataFrame:
        """Tabulate what ran in this workspace, from its ledger.

        Returns
        -------
        pandas.DataFrame
            One row per (step, uid), with columns step, uid, ok, error, seconds and log (relative to the root).
        """
        import pandas as pd

        rows = [{"step": e.step, "uid": e.uid, "ok": e.ok, "error": e.error, "seconds": round(e.seconds, 2),
                 "log": e.log} for e in self.ledger.entries()]  # fmt: skip
        return pd.DataFrame(rows, columns=["step", "uid", "ok", "error", "seconds", "log"])

    def update(self, executor: concurrent.futures.Executor | None = None) -> ProcessReport:
        """Replay every recorded step, in order, with its recorded arguments: only what is missing runs.

        Parameters
        ----------
        executor : concurrent.futures.Executor, optional
            Where the tasks run (e.g. ``dask.distributed.Client.get_executor()``). By default a local thread pool.

        Returns
        -------
        ProcessReport
            The tasks that ran again (new observations, earlier failures) and those skipped.
        """
        from . import STEPS

        report = ProcessReport([], [], self.root)
        for step, args in self.ledger.steps.items():
            if step in STEPS:
                report = report + STEPS[step](self, **args, executor=executor)
        return report

    def quicklooks(
        self,
        missions: str | Sequence[str] | None = None,
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
        :func:`vodaxa.plot.overview` of them all, is ``processed/overview.png``, drawn again at every call so
        that it shows exactly the images of that call.  A PNG newer than its image and drawn with the same
        ``stretch`` (recorded in the PNG) is kept (``rerun=True`` draws every one again).  An image that cannot
        be drawn, whatever the reason (not an image, too large, unreadable, a folder that cannot be written), is
        skipped with a :class:`~vodaxa.errors.PartialResultWarning` naming it and why, and the others are drawn;
        so is an image in a folder whose real path lies outside the workspace (a symbolic link): nothing is
        written outside it.

        Parameters
        ----------
        missions : str or sequence of str, optional
            Only these missions' images (default: every mission's): folder names under ``processed/``, or any
            name vodaxa knows for them (``"nustar"``).  A mission vodaxa knows that made no images here adds
            none.
        pattern : str, optional
            File names taken as images, a glob relative to each mission's folder (default ``"*-image.fits"``;
            ``"*-ratemap.fits"`` for the rate maps, ``"*-expmap.fits"`` for the CIAO chain's exposure maps).
        overview : bool, optional
            Also write the overview figure (default True).
        stretch : {'asinh', 'log', 'sqrt', 'linear'}, optional
            How values map to grey levels (default ``"asinh"``); a kept PNG drawn with another is drawn again.
        rerun : bool, optional
            Draw every PNG again, even those newer than their image (default False).

        Returns
        -------
        list of pathlib.Path
            The quick-look PNGs, one per image drawn in path order, then the overview (when ``overview`` is
            true and there are images).  Empty when the workspace has no images yet.

        Raises
        ------
        vodaxa.errors.InputError
            Before any picture: ``stretch`` is unknown, ``missions`` are not mission names or name one neither
            in the workspace nor known to vodaxa (the message lists the workspace's), or ``pattern`` is not a
            relative glob (absolute, or with ``..``).
        vodaxa.errors.MissingDependencyError
            matplotlib is not installed (``pip install 'vodaxa[plot]'``).

        Warns
        -----
        vodaxa.errors.PartialResultWarning
            For each image not drawn (and the overview, if it could not be), with the reason.

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
        from .. import plot
        from ..plot.batch import check_stretch, chosen_folders, drawn_with, images_under, skipped

        plot.require_matplotlib("Workspace.quicklooks")
        check_stretch(stretch)
        base = self.root / "processed"
        images = images_under(chosen_folders(base, missions), pattern)
        pictures, drawn = [], []
        for image in images:
            png = image.with_suffix(".png")
            if not png.parent.resolve().is_relative_to(self.root):
                skipped(f"no quick-look of {image}: its folder is outside the workspace ({png.parent.resolve()})")
                continue
            try:
                if rerun or not png.is_file() or png.stat().st_mtime < image.stat().st_mtime or (
                        drawn_with(png) != stretch):  # fmt: skip
                    plot.quicklook(image, png, stretch=stretch)
            except Exception as err:  # one image that cannot be drawn never stops the others
                skipped(f"no quick-look of {image}", err)
                continue
            pictures.append(png)
            drawn.append(image)
        if overview and drawn:
            target = base / "overview.png"
            try:  # drawn at every call: it shows exactly the images of this one
                plot.overview(drawn, target, stretch=stretch,
                              title=f"{self.root.name}: {len(drawn)} image{'s' * (len(drawn) != 1)}")  # fmt: skip
                pictures.append(target)
            except Exception as err:  # the quick-looks are there whatever happens to the overview
                skipped(f"no overview of the {len(drawn)} images", err)
        return pictures


def run_step(
    workspace: Workspace,
    step: str,
    args: Mapping[str, object],
    tasks: Sequence[Task],
    *,
    executor: concurrent.futures.Executor | None = None,
    rerun: bool = False,
) -> ProcessReport:
    """Run the tasks of ``step`` not yet done with these arguments; record every result in the ledger.

    A task is done when the ledger says it succeeded with the same ``args`` and its outputs still exist.
    One task's failure never stops the others.

    Parameters
    ----------
    workspace : Workspace
        Whose ledger records the results.
    step : str
        The step's name in the ledger (:meth:`Workspace.update` replays it by this name).
    args : mapping of str to object
        The step's arguments, exactly as given (JSON-able): recorded, and compared to decide what is done.
    tasks : sequence of Task
        One per uid.
    executor : concurrent.futures.Executor, optional
        Where the tasks run (e.g. ``dask.distributed.Client.get_executor()``). By default a local thread pool.
    rerun : bool, optional
        Run even the tasks already done (default False).

    Returns
    -------
    ProcessReport
        The tasks that ran, and those skipped as done.

    Examples
    --------
    A step of one task that runs a command in its private directory and moves its output home:

    >>> import os
    >>> from vodaxa.process import Task, Workspace, run_step
    >>> os.makedirs("data", exist_ok=True)
    >>> ws = Workspace("data")
    >>> target = str(ws.processed("demo", "0001", "done.txt"))
    >>> task = Task("touch", "0001", str(ws.root), (target,), commands=(("touch", "{work}/done.txt"),),
    ...             moves=(("done.txt", target),))
    >>> run_step(ws, "touch", {}, [task])
    <ProcessReport ok=1 skipped=0 failed=0>
    >>> run_step(ws, "touch", {}, [task])  # done with the same arguments, its output still there
    <ProcessReport ok=0 skipped=1 failed=0>
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
