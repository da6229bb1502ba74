"""Chandra through CIAO, as DAXA runs it: `prepare_chandra_info` (oif.fits), `chandra_repro`,
`deflare` (sigma method), `cleaned_chandra_evts`, `flux_image` and `rate_image`, with DAXA's
parameters, defaults and product names, on a :class:`~vodaxa.process.Workspace`;
`full_process_chandra` runs them all.

Each uid is ``<ObsID><INST><sub-exposure>`` (``1843ACISE001``); products go to
``processed/chandra/<ObsID>/{events,cleaning,images,misc}/obsid<o>-inst<i>-subexp<se>-...``.
Multi-OBI and alternating-exposure observations are listed with the reason they are not processed.
"""

from __future__ import annotations

import concurrent.futures
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from ..errors import CiaoNotFoundError, ProcessingError
from .runner import ProcessReport, Task, Workspace, run_step

if TYPE_CHECKING:
    from ..typing import PathLike

__all__ = [
    "CSC_BANDS",
    "DependencyError",
    "ObservationInfo",
    "chandra_repro",
    "cleaned_chandra_evts",
    "deflare",
    "find_ciao",
    "flux_image",
    "full_process_chandra",
    "parse_oif",
    "prepare_chandra_info",
    "rate_image",
]

MISSION = "chandra"
#: The Chandra Source Catalog bands, (lo, hi, effective energy) in keV: DAXA's defaults.
CSC_BANDS: tuple[tuple[float, float, float], ...] = (
    (0.5, 7.0, 2.3), (0.5, 1.2, 0.92), (1.2, 2.0, 1.56), (2.0, 7.0, 3.8), (0.2, 0.4, 0.4),
)  # fmt: skip
_CSC_BOUNDS = tuple((lo, hi) for lo, hi, _ in CSC_BANDS)
_CSC_EFFECTIVE = tuple(eff for *_, eff in CSC_BANDS)
REPRO_GRADES = (0, 2, 3, 4, 6)  # the ASCA grades chandra_repro keeps


#: How to reduce without CIAO, as the library says it (the CLI says it as a command).
NATIVE_ADVICE = "use vodaxa.process.native for reductions without CIAO"


def find_ciao(timeout: float = 60) -> dict[str, str]:
    """Find CIAO and its CALDB, and say which versions they are (``ciaover -v``).

    Every CIAO step calls it first, so a missing CIAO is said once, before anything runs.

    Parameters
    ----------
    timeout : float, optional
        Seconds ``ciaover -v`` may take (60 by default).

    Returns
    -------
    dict of str to str
        ``{"ciao": version, "caldb": version}``.

    Raises
    ------
    vodaxa.errors.CiaoNotFoundError
        If ``ciaover`` is not on PATH, fails, names no CIAO version or does not answer in time, or the CALDB is
        not installed; the message says how to install CIAO, or to use `vodaxa.process.native` instead.
    """
    if shutil.which("ciaover") is None:
        raise CiaoNotFoundError(
            "CIAO is not available (no 'ciaover' on PATH): install CIAO and start its environment "
            f"(e.g. 'conda activate ciao'), or {NATIVE_ADVICE}"
        )
    try:
        done = subprocess.run(["ciaover", "-v"], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CiaoNotFoundError(f"'ciaover -v' did not answer within {timeout:g} s") from None
    text = done.stdout + done.stderr
    ciao = re.search(r"CIAO\s*:\s*CIAO\s+([0-9][0-9.]*)", text)
    caldb = re.search(r"CALDB\s*:\s*([^\n]+)", text)
    if done.returncode != 0 or ciao is None:
        raise CiaoNotFoundError(f"'ciaover -v' failed or did not name a CIAO version: {text.strip()[:200]}")
    if caldb is None or "not installed" in caldb.group(1).lower():
        raise CiaoNotFoundError("CIAO is installed but its CALDB is not: install the CALDB (ciao-install, or conda)")
    return {"ciao": ciao.group(1), "caldb": caldb.group(1).strip()}


# ---------------------------------------------------------------------------------- oif.fits
class ObservationInfo(TypedDict):
    """What an ObsID's ``oif.fits`` says, as :func:`parse_oif` reads it (and the ledger keeps it).

    Attributes
    ----------
    instrument : str
        ``ACIS`` or ``HRC`` (INSTRUME).
    detector : str
        The detector, from DETNAM (``ACIS-7`` gives ``7``).
    grating : bool
        Whether a grating was in (GRATING is not ``NONE``).
    grating_name : str
        GRATING: ``NONE``, ``HETG`` or ``LETG``.
    sequence : str
        The sequence number (SEQ_NUM).
    obs_mode : str
        OBS_MODE (``POINTING``, ...).
    mode : str
        The data mode (DATAMODE: ``FAINT``, ``VFAINT``, ...).
    ra_nom, dec_nom, roll_nom : float
        The nominal pointing and roll, in degrees (NaN when absent).
    active : bool
        Whether the observation has an EVT2, an EVT1 and an aspect solution.
    alt_exp_mode : bool
        Whether it was taken in alternating exposure mode (EVT1 files ``_e1_`` and ``_e2_``).
    multi_obi : bool
        Whether it holds several observation intervals (OBIs).
    sub_exp_ids : list of str
        The sub-exposures processed, ``["E001"]``, or one ``E<obi>`` per OBI.
    file_content_counts : dict of str to int
        How many files of each MEMBER_CONTENT the index lists.
    process : bool
        Whether the observation can be processed: active, a single OBI, no alternating exposures.
    reason : str
        Why it cannot be (empty when it can).
    """

    instrument: str
    detector: str
    grating: bool
    grating_name: str
    sequence: str
    obs_mode: str
    mode: str
    ra_nom: float
    dec_nom: float
    roll_nom: float
    active: bool
    alt_exp_mode: bool
    multi_obi: bool
    sub_exp_ids: list[str]
    file_content_counts: dict[str, int]
    process: bool
    reason: str


def parse_oif(path: PathLike) -> ObservationInfo:
    """Read an ObsID's ``oif.fits``: instrument, detector, grating, mode, pointing, and whether the
    observation can be processed (active, single OBI, no alternating exposures).

    Pure Python (astropy); no CIAO is needed.

    Parameters
    ----------
    path : str or os.PathLike
        The ``oif.fits`` file of a downloaded ObsID.

    Returns
    -------
    ObservationInfo
        What the file says, with ``process`` and the ``reason`` why not.

    Raises
    ------
    vodaxa.errors.ProcessingError
        If the file cannot be read as a Chandra observation index (no second HDU, or no MEMBER_CONTENT or
        MEMBER_LOCATION column).
    """
    from astropy.io import fits

    try:
        with fits.open(path) as hdul:
            header = hdul[1].header
            table = hdul[1].data
            content = [str(c).strip().upper() for c in table["MEMBER_CONTENT"]]
            location = [str(c).strip() for c in table["MEMBER_LOCATION"]]
    except (OSError, KeyError, IndexError) as err:
        raise ProcessingError(f"{path}: not a readable Chandra oif.fits ({err})") from None
    evt1 = [loc for c, loc in zip(content, location, strict=True) if c == "EVT1"]
    active = "EVT2" in content and bool(evt1) and ("ASPSOL" in content or "ASPSOLOBI" in content)
    alternating = len(evt1) > 1 and any("_e1_" in x for x in evt1) and any("_e2_" in x for x in evt1)
    multi = len(evt1) > 1 and not alternating
    obis = sorted({m.group(1) for x in evt1 if (m := re.search(r"_(\d{3})N\d{3}", Path(x).name))})
    grating = str(header.get("GRATING", "NONE")).strip().upper()
    process = active and not alternating and not multi
    reason = (
        "" if process else
        "not active (no EVT2, EVT1 or aspect solution)" if not active else
        "alternating exposure mode (not processed yet)" if alternating else "multiple OBIs (not processed yet)"
    )  # fmt: skip
    return {
        "instrument": str(header.get("INSTRUME", "")).strip().upper(),
        "detector": str(header.get("DETNAM", "")).strip().split("-")[-1],
        "grating": grating != "NONE",
        "grating_name": grating,
        "sequence": str(header.get("SEQ_NUM", "")).strip(),
        "obs_mode": str(header.get("OBS_MODE", "")).strip(),
        "mode": str(header.get("DATAMODE", "")).strip(),
        "ra_nom": float(header.get("RA_NOM", "nan")),
        "dec_nom": float(header.get("DEC_NOM", "nan")),
        "roll_nom": float(header.get("ROLL_NOM", "nan")),
        "active": active,
        "alt_exp_mode": alternating,
        "multi_obi": multi,
        "sub_exp_ids": ["E" + o for o in obis] if multi else ["E001"],
        "file_content_counts": {c: content.count(c) for c in sorted(set(content))},
        "process": process,
        "reason": reason,
    }


def prepare_chandra_info(workspace: Workspace, *, executor: concurrent.futures.Executor | None = None) -> ProcessReport:
    """Read every downloaded ObsID's ``oif.fits`` (:func:`parse_oif`; pure Python, no CIAO), the first step.

    The ledger keeps what each says (step ``prepare_chandra_info``, one uid per ObsID); the later steps process
    the observations it found processable, and list the others with the reason.

    Parameters
    ----------
    workspace : vodaxa.process.Workspace
        The folder `vodaxa.download` filled, with Chandra ObsIDs under ``chandra/<ObsID>/``.
    executor : concurrent.futures.Executor, optional
        Where the tasks run (a local pool by default).

    Returns
    -------
    vodaxa.process.ProcessReport
        One task per ObsID: done or failed (an unreadable or missing ``oif.fits``).

    Raises
    ------
    vodaxa.errors.ProcessingError
        If the workspace holds no Chandra observation.
    """
    folder = workspace.root / MISSION
    obs_ids = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    if not obs_ids:
        raise ProcessingError(f"no Chandra observations under {folder}: download some first (vodaxa.download)")
    tasks = [
        Task("prepare_chandra_info", o, str(workspace.root), (str(workspace.raw(MISSION, o) / "oif.fits"),),
             function="vodaxa.process.chandra:_oif_task", kwargs={"path": str(workspace.raw(MISSION, o) / "oif.fits")})
        for o in obs_ids
    ]  # fmt: skip
    return run_step(workspace, "prepare_chandra_info", {}, tasks, executor=executor)


def _oif_task(path: str) -> ObservationInfo:
    return parse_oif(path)


def observations(workspace: Workspace) -> list[tuple[str, str, str, dict[str, Any]]]:
    """``(obs_id, instrument, sub-exposure, info)`` of every processable observation, from the ledger."""
    entries = list(workspace.ledger.entries("prepare_chandra_info"))
    if not entries:
        raise ProcessingError("run vodaxa.process.chandra.prepare_chandra_info(workspace) first")
    return sorted(
        (e.uid, e.extra["instrument"], sub, dict(e.extra))
        for e in entries
        if e.ok and e.extra.get("process")
        for sub in e.extra["sub_exp_ids"]
    )


# ---------------------------------------------------------------------------------- paths
def _prefix(obs: str, inst: str, sub: str) -> str:
    return f"obsid{obs}-inst{inst}-subexp{sub}"


def _paths(ws: Workspace, obs: str, inst: str, sub: str) -> dict[str, Path]:
    p, d = _prefix(obs, inst, sub), ws.processed(MISSION, obs)
    return {
        "evt": d / "events" / f"{p}-en-events.fits",
        "default_gti": d / "cleaning" / f"{p}-defaultGTI.fits",
        "badpix": d / "misc" / f"{p}-badpix.fits",
        "fov": d / "misc" / f"{p}-FOVreg.fits",
        "mask": d / "misc" / f"{p}-mask.fits",
        "asol": d / "misc" / f"{p}-aspectsolution.fits",
        "dtf": d / "misc" / f"{p}-deadtimefile.fits",
        "lightcurve": d / "cleaning" / f"{p}-lightcurve.fits",
        "flare_gti": d / "cleaning" / f"{p}-flaringGTI.fits",
    }


def _clean_path(ws: Workspace, obs: str, inst: str, sub: str, energy: tuple[float, float] | None) -> Path:
    band = f"-en{energy[0]:g}_{energy[1]:g}keV" if energy and inst == "ACIS" else "-en"
    return ws.processed(MISSION, obs) / "events" / f"{_prefix(obs, inst, sub)}{band}-cleanevents.fits"


def _uid(obs: str, inst: str, sub: str) -> str:
    return f"{obs}{inst}{sub}"


class DependencyError(ProcessingError):
    """Raised when a step finds no observation for which the step it depends on succeeded: run that one first.

    Parameters
    ----------
    *args : object
        The message (a str, which names the step to run first) and any further arguments, as for ``Exception``.
    """


def _done_before(ws: Workspace, step: str, needed: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    chosen = [o for o in observations(ws) if ws.ledger.succeeded(needed, _uid(*o[:3]))]
    if not chosen:
        raise DependencyError(f"{step} needs {needed} to have succeeded for at least one observation; run it first")
    return chosen


def _command_task(
    ws: Workspace,
    step: str,
    uid: str,
    commands: tuple[tuple[str, ...], ...],
    moves: list[tuple[str, Path]],
    timeout: float | None,
) -> Task:
    """A task running CIAO ``commands`` whose outputs are the ``moves`` targets."""
    targets = tuple(str(t) for _, t in moves)
    return Task(step, uid, str(ws.root), targets, commands=commands,
                moves=tuple((g, str(t)) for g, t in moves), timeout=timeout)  # fmt: skip


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


# ---------------------------------------------------------------------------------- steps
def chandra_repro(
    workspace: Workspace, destreak: bool = True, check_very_faint: bool = False, pix_adj: str = "default",
    asol_update: bool = True, grating_pi_filter: bool = True, *, timeout: float | None = None,
    executor: concurrent.futures.Executor | None = None, rerun: bool = False,
) -> ProcessReport:  # fmt: skip
    """Re-reduce each ObsID with the latest calibrations (CIAO ``chandra_repro``), keeping the evt2,
    default GTI, bad pixels, FOV, mask and aspect solution (and HRC's dead-time file).

    Each processable observation and sub-exposure found by :func:`prepare_chandra_info` is one task; the
    products go to ``processed/chandra/<ObsID>/{events,cleaning,misc}/`` under DAXA's names.

    Parameters
    ----------
    workspace : vodaxa.process.Workspace
        The folder `vodaxa.download` filled, after :func:`prepare_chandra_info`.
    destreak : bool, optional
        Remove ACIS-S4 streaks (``destreak=yes``, the default).
    check_very_faint : bool, optional
        Clean very-faint-mode background (``check_vf_pha``; False by default).
    pix_adj : {"default", "edser", "none", "randomize"}, optional
        The pixel randomisation (``"default"`` by default).
    asol_update : bool, optional
        Apply the latest aspect solution boresight correction (True by default).
    grating_pi_filter : bool, optional
        Filter grating data on PI (``pi_filter``; True by default).
    timeout : float, optional
        Seconds each CIAO command may take (no limit by default).
    executor : concurrent.futures.Executor, optional
        Where the tasks run (a local pool by default; ``client.get_executor()`` for a dask cluster).
    rerun : bool, optional
        Run every task again, even those already done with the same arguments (False by default).

    Returns
    -------
    vodaxa.process.ProcessReport
        One task per observation and sub-exposure: done, already done (skipped) or failed, with its log.

    Raises
    ------
    vodaxa.errors.ProcessingError
        If ``pix_adj`` is not one of the four, or :func:`prepare_chandra_info` has not run.
    vodaxa.errors.CiaoNotFoundError
        If CIAO or its CALDB is missing (:func:`find_ciao`).
    """
    if pix_adj not in ("default", "edser", "none", "randomize"):
        raise ProcessingError(f"pix_adj={pix_adj!r}: use 'default', 'edser', 'none' or 'randomize'")
    find_ciao()
    args = {"destreak": destreak, "check_very_faint": check_very_faint, "pix_adj": pix_adj,
            "asol_update": asol_update, "grating_pi_filter": grating_pi_filter}  # fmt: skip
    tasks = []
    for obs, inst, sub, _ in observations(workspace):
        paths, uid = _paths(workspace, obs, inst, sub), _uid(obs, inst, sub)
        command = ("chandra_repro", f"indir={workspace.raw(MISSION, obs)}/", "outdir={work}", f"root={uid}",
                   "badpixel=yes", "process_events=yes", f"destreak={_yes(destreak)}", "set_ardlib=no",
                   f"check_vf_pha={_yes(check_very_faint)}", f"pix_adj={pix_adj}", "tg_zo_position=evt2",
                   f"asol_update={_yes(asol_update)}", f"pi_filter={_yes(grating_pi_filter)}", "cleanup=no",
                   "verbose=5")  # fmt: skip
        moves = [
            ("*_repro_evt2.fits", paths["evt"]),
            ("*_repro_flt1.fits", paths["default_gti"]),
            ("*_repro_bpix1.fits", paths["badpix"]),
            ("*_repro_fov1.fits", paths["fov"]),
            ("*_msk1.fits", paths["mask"]),
            ("pcadf*_repro_asol1.fits | pcadf*_asol1.fits", paths["asol"]),
        ]
        if inst == "HRC":
            moves.append(("*_dtf1.fits", paths["dtf"]))
        tasks.append(_command_task(workspace, "chandra_repro", uid, (command,), moves, timeout))
    return run_step(workspace, "chandra_repro", args, tasks, executor=executor, rerun=rerun)


def deflare(
    workspace: Workspace, method: str = "sigma", allowed_sigma: float = 3.0, min_length: int = 3,
    time_bin_size: float = 200.0, lc_lo_en: float = 0.5, lc_hi_en: float = 7.0, *, timeout: float | None = None,
    executor: concurrent.futures.Executor | None = None, rerun: bool = False,
) -> ProcessReport:  # fmt: skip
    """Find flare-free GTIs: a light curve (CIAO ``dmextract``), then ``deflare`` method=sigma.

    Energies are in keV, ``time_bin_size`` in seconds; HRC light curves take no energy filter.  Products go to
    ``processed/chandra/<ObsID>/cleaning/`` (``-lightcurve.fits``, ``-flaringGTI.fits``).

    Parameters
    ----------
    workspace : vodaxa.process.Workspace
        The folder `vodaxa.download` filled, after :func:`chandra_repro`.
    method : str, optional
        ``"sigma"``, the only method supported (as in DAXA).
    allowed_sigma : float, optional
        How many standard deviations from the mean rate a bin may be and be kept (3 by default).
    min_length : int, optional
        The fewest consecutive good bins that make a GTI (3 by default).
    time_bin_size : float, optional
        The light curve's bin width in seconds (200 by default).
    lc_lo_en, lc_hi_en : float, optional
        The light curve's energy band in keV, ACIS only (0.5 to 7 by default).
    timeout : float, optional
        Seconds each CIAO command may take (no limit by default).
    executor : concurrent.futures.Executor, optional
        Where the tasks run (a local pool by default; ``client.get_executor()`` for a dask cluster).
    rerun : bool, optional
        Run every task again, even those already done with the same arguments (False by default).

    Returns
    -------
    vodaxa.process.ProcessReport
        One task per observation and sub-exposure for which :func:`chandra_repro` succeeded.

    Raises
    ------
    vodaxa.errors.ProcessingError
        If ``method`` is not ``"sigma"`` or the band is not ``0 < lc_lo_en < lc_hi_en``.
    vodaxa.errors.CiaoNotFoundError
        If CIAO or its CALDB is missing (:func:`find_ciao`).
    DependencyError
        If :func:`chandra_repro` succeeded for no observation.
    """
    if method != "sigma":
        raise ProcessingError(f"deflare method={method!r}: only 'sigma' is supported (as in DAXA)")
    if not 0 < lc_lo_en < lc_hi_en:
        raise ProcessingError(f"lc_lo_en={lc_lo_en}, lc_hi_en={lc_hi_en}: need 0 < lo < hi (keV)")
    find_ciao()
    args = {"method": method, "allowed_sigma": allowed_sigma, "min_length": min_length,
            "time_bin_size": time_bin_size, "lc_lo_en": lc_lo_en, "lc_hi_en": lc_hi_en}  # fmt: skip
    tasks = []
    for obs, inst, sub, _ in _done_before(workspace, "deflare", "chandra_repro"):
        paths = _paths(workspace, obs, inst, sub)
        energy = f"[energy={lc_lo_en * 1000:g}:{lc_hi_en * 1000:g}]" if inst == "ACIS" else ""
        commands = (
            ("dmextract", f"infile={paths['evt']}{energy}[bin time=::{time_bin_size:g}]", "outfile={work}/lc.fits",
             "opt=ltc1", "clobber=yes"),
            ("deflare", "infile={work}/lc.fits", "outfile={work}/gti.fits", f"method={method}",
             f"nsigma={allowed_sigma:g}", f"minlength={min_length}", "plot=no", "verbose=5"),
        )  # fmt: skip
        moves = (("lc.fits", str(paths["lightcurve"])), ("gti.fits", str(paths["flare_gti"])))
        tasks.append(Task("deflare", _uid(obs, inst, sub), str(workspace.root), tuple(t for _, t in moves),
                          commands=commands, moves=moves, timeout=timeout))  # fmt: skip
    return run_step(workspace, "deflare", args, tasks, executor=executor, rerun=rerun)


def cleaned_chandra_evts(
    workspace: Workspace, lo_en: float | None = None, hi_en: float | None = None,
    allowed_grades: Sequence[int] | None = None, *, timeout: float | None = None,
    executor: concurrent.futures.Executor | None = None, rerun: bool = False,
) -> ProcessReport:  # fmt: skip
    """Write cleaned event lists: STATUS=0, the grades (ASCA; default chandra_repro's), an energy range in keV
    (ACIS only) with ``dmcopy``, then the flare-free GTIs.

    Products go to ``processed/chandra/<ObsID>/events/`` (``-cleanevents.fits``, with the band in the name).

    Parameters
    ----------
    workspace : vodaxa.process.Workspace
        The folder `vodaxa.download` filled, after :func:`deflare`.
    lo_en, hi_en : float, optional
        The energy band in keV, ACIS only: both or neither (no energy filter by default).
    allowed_grades : sequence of int, optional
        The ASCA grades to keep, among those ``chandra_repro`` kept (0, 2, 3, 4, 6: the default).
    timeout : float, optional
        Seconds each CIAO command may take (no limit by default).
    executor : concurrent.futures.Executor, optional
        Where the tasks run (a local pool by default; ``client.get_executor()`` for a dask cluster).
    rerun : bool, optional
        Run every task again, even those already done with the same arguments (False by default).

    Returns
    -------
    vodaxa.process.ProcessReport
        One task per observation and sub-exposure for which :func:`deflare` succeeded.

    Raises
    ------
    vodaxa.errors.ProcessingError
        If only one of ``lo_en`` and ``hi_en`` is given, the band is not ``0 <= lo_en < hi_en``, or a grade was
        already removed by ``chandra_repro``.
    vodaxa.errors.CiaoNotFoundError
        If CIAO or its CALDB is missing (:func:`find_ciao`).
    DependencyError
        If :func:`deflare` succeeded for no observation.
    """
    if (lo_en is None) != (hi_en is None) or (lo_en is not None and hi_en is not None and not 0 <= lo_en < hi_en):
        raise ProcessingError(f"lo_en={lo_en}, hi_en={hi_en}: give both (keV, lo < hi) or neither")
    grades = tuple(REPRO_GRADES if allowed_grades is None else sorted({int(g) for g in allowed_grades}))
    if set(grades) - set(REPRO_GRADES):
        raise ProcessingError(f"grades {sorted(set(grades) - set(REPRO_GRADES))} were already removed by "
                              f"chandra_repro, which keeps ASCA grades {REPRO_GRADES}")  # fmt: skip
    find_ciao()
    energy = (lo_en, hi_en) if lo_en is not None and hi_en is not None else None
    args = {"lo_en": lo_en, "hi_en": hi_en, "allowed_grades": list(grades)}
    tasks = []
    for obs, inst, sub, _ in _done_before(workspace, "cleaned_chandra_evts", "deflare"):
        paths = _paths(workspace, obs, inst, sub)
        target = _clean_path(workspace, obs, inst, sub, energy)
        if inst == "ACIS":
            parts = ([f"energy={energy[0] * 1000:g}:{energy[1] * 1000:g}"] if energy else []) + [
                f"grade={','.join(map(str, grades))}", "status=0"]  # fmt: skip
        else:
            parts = ["status=0"]
        commands = (
            ("dmcopy", f"{paths['evt']}[EVENTS][{','.join(parts)}]", "{work}/interim.fits", "clobber=yes"),
            ("dmcopy", f"{{work}}/interim.fits[EVENTS][@{paths['flare_gti']}]", "{work}/clean.fits", "clobber=yes"),
        )
        tasks.append(Task("cleaned_chandra_evts", _uid(obs, inst, sub), str(workspace.root), (str(target),),
                          commands=commands, moves=(("clean.fits", str(target)),), timeout=timeout))  # fmt: skip
    return run_step(workspace, "cleaned_chandra_evts", args, tasks, executor=executor, rerun=rerun)


def _images(
    workspace: Workspace, step: str, units: str, en_bounds: Sequence[tuple[float, float]],
    effective_ens: Sequence[float], acis_bin_size: float, hrc_bin_size: float, timeout: float | None,
    executor: concurrent.futures.Executor | None, rerun: bool,
) -> ProcessReport:  # fmt: skip
    if len(en_bounds) != len(effective_ens) or not en_bounds:
        raise ProcessingError("en_bounds and effective_ens must have the same (non-zero) length")
    for (lo, hi), eff in zip(en_bounds, effective_ens, strict=True):
        if not lo <= eff <= hi:
            raise ProcessingError(f"effective energy {eff} keV is outside its band {lo}-{hi} keV")
    find_ciao()
    args = {"en_bounds": [list(b) for b in en_bounds], "effective_ens": list(effective_ens),
            "acis_bin_size": acis_bin_size, "hrc_bin_size": hrc_bin_size}  # fmt: skip
    clean_args = workspace.ledger.steps.get("cleaned_chandra_evts", {})
    energy = (clean_args["lo_en"], clean_args["hi_en"]) if clean_args.get("lo_en") is not None else None
    tasks = []
    for obs, inst, sub, _ in _done_before(workspace, step, "cleaned_chandra_evts"):
        paths, prefix = _paths(workspace, obs, inst, sub), _prefix(obs, inst, sub)
        clean = _clean_path(workspace, obs, inst, sub, energy)
        command = ["fluximage", f"infile={clean}[EVENTS]", "outroot={work}/out",
                   f"binsize={acis_bin_size if inst == 'ACIS' else hrc_bin_size:g}", f"asolfile={paths['asol']}",
                   f"badpixfile={paths['badpix']}", f"maskfile={paths['mask']}", f"units={units}", "psfecf=1",
                   "parallel=no", "tmpdir={work}/sub_temp", "cleanup=yes", "verbose=4"]  # fmt: skip
        if inst == "ACIS":
            command.insert(3, "bands=" + ",".join(f"{lo:g}:{hi:g}:{eff:g}" for (lo, hi), eff
                                                  in zip(en_bounds, effective_ens, strict=True)))  # fmt: skip
            bands = [(f"{lo:g}-{hi:g}", f"-en{lo:g}_{hi:g}keV") for lo, hi in en_bounds]
        else:
            command += [f"dtffile={paths['dtf']}", "background=default"]
            bands = [("wide", "-en")]
        images = workspace.processed(MISSION, obs, "images")
        rate = units == "time"
        moves = []
        for band, tag in bands:
            name = f"{prefix}{tag}"
            misc = workspace.processed(MISSION, obs, "misc")
            moves += [(f"out_{band}_thresh.img", images / f"{name}-image.fits"),
                      (f"out_{band}_flux.img", images / f"{name}-{'ratemap' if rate else 'fluxmap'}.fits"),
                      (f"out_{band}_thresh.expmap", images / f"{name}-{'expmap' if rate else 'weightedexpmap'}.fits"),
                      (f"out_{band}_thresh.psfmap", misc / f"{name}-psfmap.fits")]  # fmt: skip
        tasks.append(_command_task(workspace, step, _uid(obs, inst, sub), (tuple(command),), moves, timeout))
    return run_step(workspace, step, args, tasks, executor=executor, rerun=rerun)


def flux_image(
    workspace: Workspace, en_bounds: Sequence[tuple[float, float]] = _CSC_BOUNDS,
    effective_ens: Sequence[float] = _CSC_EFFECTIVE, acis_bin_size: float = 4,
    hrc_bin_size: float = 16, *, timeout: float | None = None, executor: concurrent.futures.Executor | None = None,
    rerun: bool = False,
) -> ProcessReport:  # fmt: skip
    """Make images, weighted exposure maps (cm^2 s ct/photon) and flux maps (photon/cm^2/s) per band
    (``fluximage``).

    Products go to ``processed/chandra/<ObsID>/images/`` (``-image.fits``, ``-weightedexpmap.fits``,
    ``-fluxmap.fits``) and PSF maps to ``misc/``.

    Parameters
    ----------
    workspace : vodaxa.process.Workspace
        The folder `vodaxa.download` filled, after :func:`cleaned_chandra_evts`.
    en_bounds : sequence of tuple of float, optional
        The ACIS bands, ``(lo, hi)`` in keV (the Chandra Source Catalog's, `CSC_BANDS`, by default); HRC makes
        one wide band.
    effective_ens : sequence of float, optional
        Each band's effective energy in keV, inside it (the CSC's by default).
    acis_bin_size : float, optional
        ACIS sky pixels per image pixel (4 by default).
    hrc_bin_size : float, optional
        HRC sky pixels per image pixel (16 by default).
    timeout : float, optional
        Seconds each CIAO command may take (no limit by default).
    executor : concurrent.futures.Executor, optional
        Where the tasks run (a local pool by default; ``client.get_executor()`` for a dask cluster).
    rerun : bool, optional
        Run every task again, even those already done with the same arguments (False by default).

    Returns
    -------
    vodaxa.process.ProcessReport
        One task per observation and sub-exposure for which :func:`cleaned_chandra_evts` succeeded.

    Raises
    ------
    vodaxa.errors.ProcessingError
        If ``en_bounds`` and ``effective_ens`` differ in length or are empty, or an effective energy is outside
        its band.
    vodaxa.errors.CiaoNotFoundError
        If CIAO or its CALDB is missing (:func:`find_ciao`).
    DependencyError
        If :func:`cleaned_chandra_evts` succeeded for no observation.
    """
    return _images(workspace, "flux_image", "default", en_bounds, effective_ens, acis_bin_size, hrc_bin_size,
                   timeout, executor, rerun)  # fmt: skip


def rate_image(
    workspace: Workspace, en_bounds: Sequence[tuple[float, float]] = _CSC_BOUNDS,
    effective_ens: Sequence[float] = _CSC_EFFECTIVE, acis_bin_size: float = 4,
    hrc_bin_size: float = 16, *, timeout: float | None = None, executor: concurrent.futures.Executor | None = None,
    rerun: bool = False,
) -> ProcessReport:  # fmt: skip
    """Make images, exposure maps (s) and rate maps (count/s) per band (``fluximage units=time``).

    Products go to ``processed/chandra/<ObsID>/images/`` (``-image.fits``, ``-expmap.fits``, ``-ratemap.fits``)
    and PSF maps to ``misc/``.

    Parameters
    ----------
    workspace : vodaxa.process.Workspace
        The folder `vodaxa.download` filled, after :func:`cleaned_chandra_evts`.
    en_bounds : sequence of tuple of float, optional
        The ACIS bands, ``(lo, hi)`` in keV (the Chandra Source Catalog's, `CSC_BANDS`, by default); HRC makes
        one wide band.
    effective_ens : sequence of float, optional
        Each band's effective energy in keV, inside it (the CSC's by default).
    acis_bin_size : float, optional
        ACIS sky pixels per image pixel (4 by default).
    hrc_bin_size : float, optional
        HRC sky pixels per image pixel (16 by default).
    timeout : float, optional
        Seconds each CIAO command may take (no limit by default).
    executor : concurrent.futures.Executor, optional
        Where the tasks run (a local pool by default; ``client.get_executor()`` for a dask cluster).
    rerun : bool, optional
        Run every task again, even those already done with the same arguments (False by default).

    Returns
    -------
    vodaxa.process.ProcessReport
        One task per observation and sub-exposure for which :func:`cleaned_chandra_evts` succeeded.

    Raises
    ------
    vodaxa.errors.ProcessingError
        If ``en_bounds`` and ``effective_ens`` differ in length or are empty, or an effective energy is outside
        its band.
    vodaxa.errors.CiaoNotFoundError
        If CIAO or its CALDB is missing (:func:`find_ciao`).
    DependencyError
        If :func:`cleaned_chandra_evts` succeeded for no observation.
    """
    return _images(workspace, "rate_image", "time", en_bounds, effective_ens, acis_bin_size, hrc_bin_size,
                   timeout, executor, rerun)  # fmt: skip


def full_process_chandra(
    workspace: Workspace, *, executor: concurrent.futures.Executor | None = None, timeout: float | None = None
) -> ProcessReport:
    """Run every step in DAXA's order with DAXA's defaults; observations that fail a step drop out of the later
    ones.

    The steps: :func:`prepare_chandra_info`, :func:`chandra_repro`, :func:`deflare`,
    :func:`cleaned_chandra_evts`, :func:`flux_image` and :func:`rate_image`.  When no observation survives a
    step, the chain stops there and the report says why.

    Parameters
    ----------
    workspace : vodaxa.process.Workspace
        The folder `vodaxa.download` filled, with Chandra ObsIDs under ``chandra/<ObsID>/``.
    executor : concurrent.futures.Executor, optional
        Where the tasks run (a local pool by default; ``client.get_executor()`` for a dask cluster).
    timeout : float, optional
        Seconds each CIAO command may take (no limit by default).

    Returns
    -------
    vodaxa.process.ProcessReport
        Every step's tasks: done, already done (skipped) and failed, with reasons and logs.

    Raises
    ------
    vodaxa.errors.ProcessingError
        If the workspace holds no Chandra observation.
    vodaxa.errors.CiaoNotFoundError
        If CIAO or its CALDB is missing (:func:`find_ciao`).

    See Also
    --------
    vodaxa.process.native.reduce : Reductions without CIAO, for any mission.
    """
    report = prepare_chandra_info(workspace, executor=executor)
    for step in (chandra_repro, deflare, cleaned_chandra_evts, flux_image, rate_image):
        try:
            report = report + step(workspace, executor=executor, timeout=timeout)
        except DependencyError:
            break  # nothing survived the previous step: the report says why
    return report
