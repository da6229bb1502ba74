"""The sandbox's HEASARC ``/FTP`` tree: one directory of small but real files per observation.

:func:`observation_path` maps a master-table row to its directory with HEASARC's own layout rules
(the ones DAXA relies on), and :func:`build_observation` writes that directory.  Every mission is
declared as data (:data:`MISSIONS`): a path template, a list of file-name templates, and a small
function that derives the per-observation template fields (which instruments ran, how many CCDs, ...).

File contents come from :mod:`...synth.synthfiles` (deterministic byte for byte) through the FITS writer
of :mod:`...synth.fitsgen`; directories appear atomically (built aside, then renamed into place).

Deliberate variety, so that client and processing code meet the archive's awkward cases:

* Chandra ObsIDs with ``obsid % 17 == 0`` are multi-OBI (OBIs ``000`` and ``001``: two EVT1 members,
  per-OBI ``ASPSOLOBI`` aspect solutions, one merged EVT2); ACIS ObsIDs with ``obsid % 17 == 1`` are
  alternating-exposure (``_e1_``/``_e2_`` EVT1, EVT2, FLT and STAT files).  HRC gives ``hrcf`` names,
  grating observations add ``evt1a`` and ``pha2`` files.
* About 40% of observations contain a flare: a burst of events in 4% of one GTI, in every event list.
* ROSAT rows with ``proc_rev == 0`` hold a single old-style ``<seq>.fits.Z`` file and none of the
  ``_anc``/``_bas``/``_bk``/``_im`` files (as in DAXA issue #207).
* Instruments with zero exposure in the row get no files (Swift, Suzaku, ASCA, INTEGRAL, NuSTAR cleaned
  events, XRISM instruments with an empty data mode).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...synth.synthfiles import Entry, Mission, Obs, Span, crc, mjd_date, num, obsid_text, pick, render, text

__all__ = ["MISSIONS", "TREE_VERSION", "Mission", "build_observation", "observation_path", "shared_paths"]

#: Bumped whenever file names or contents change, so that caches of built trees are not reused.
TREE_VERSION = 1


# ======================================================================================= per-mission fields


def _on(row: Mapping[str, Any], column: str, inst: str) -> list[dict[str, Any]]:
    """A one-item loop list when the row gives the instrument exposure (or says nothing), else empty."""
    return [{"inst": inst}] if num(row, column, 1.0) > 0 else []


def _path_fields(mission: Mission, row: Mapping[str, Any]) -> dict[str, Any]:
    """The template fields every layout rule may use, derived from the row alone."""
    o = obsid_text(row, mission.key)
    start = num(row, mission.start, mission.mjdref + 1000.0)
    return {
        "o": o,
        "lo": o.lower(),
        "o5": o.zfill(5),
        "o0": o[:1],
        "o12": o[1:3],
        "o2": o[2:3],
        "olast": o[-1:],
        "rev": o[:4],
        "ver": text(row, "scw_ver", "001") or "001",
        "ym": mjd_date(start).strftime("%Y_%m"),
        "rdet": "hri" if o[1:2].upper() == "H" else "pspc",
    }


def _nustar(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """Focal-plane modules: both are always in the raw data, cleaned events only with on-time."""
    fpm = [{"m": m, "inst": f"FPM{m}"} for m in "AB"]
    return {"fpm": fpm, "fpm_on": [d for d in fpm if num(row, f"ontime_{d['m'].lower()}", 1.0) > 0]}


_ACIS_CCDS = {"ACIS-I": (0, 1, 2, 3, 6, 7), "ACIS-S": (2, 3, 5, 6, 7, 8)}
_SIM_Z = {"ACIS-I": -233.5874, "ACIS-S": -190.5548, "HRC-I": 126.9902, "HRC-S": 250.4660}


def _chandra(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """Detector, processing version, OBIs, alternating exposures, CCDs and the oif.fits header values."""
    det = text(row, "detector", "ACIS-S").upper() or "ACIS-S"
    acis = det.startswith("ACIS")
    number = int(o)
    multi = number % 17 == 0
    alternating = acis and number % 17 == 1
    if multi:
        obis = [
            {"obi": "000", "asol": "ASPSOLOBI", "t0": 0.0, "t1": 0.48},
            {"obi": "001", "asol": "ASPSOLOBI", "t0": 0.52, "t1": 1.0},
        ]
    else:
        obis = [{"obi": "000", "asol": "ASPSOL"}]
    exposures = [{"e": "_e1"}, {"e": "_e2"}] if alternating else [{"e": ""}]
    grating = text(row, "grating", "NONE").upper() or "NONE"
    mode = text(row, "data_mode", "")
    ccds = _ACIS_CCDS.get(det, ())
    return {
        "det": "acis" if acis else "hrc",
        "inst": "ACIS" if acis else "HRC",
        "detnam": "ACIS-" + "".join(map(str, ccds)) if acis else det,
        "v": int(rng.integers(1, 6)),
        "t9": f"{max(0, int(span.t0)):09d}",
        "obis": obis,
        "subs": [{**b, **e} for b in obis for e in exposures],
        "evt2s": exposures,
        "bias": [{"ccd": c} for c in ccds],
        "acis": [{}] if acis else [],
        "hrc_obis": [] if acis else obis,
        "grating_obis": obis if grating != "NONE" else [],
        "gratings": [{}] if grating != "NONE" else [],
        "grating": grating,
        "datamode": (mode.replace("TE_", "") or "FAINT") if acis else "NONE",
        "seq": f"{200000 + number * 37 % 700000:06d}",
        "roll": round(float(rng.uniform(0, 360)), 4),
        "sim_z": _SIM_Z.get(det, -190.5548),
        "multi_obi": multi,
        "alternating": alternating,
    }


def _xmm(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """ODF instruments with their exposure numbers and CCDs (MOS 7, pn 12, RGS 9 each)."""
    rev = int(num(row, "xmm_revolution", (span.mjd0 - 51544.0) / 2.0 + 1))

    def ccds(inst: str, exp: str, name: str, n: int) -> list[dict[str, Any]]:
        """One item per CCD of an instrument exposure, each with a 1/n share of the events."""
        return [{"i": inst, "exp": exp, "ccd": f"{c:02d}", "inst": name, "frac": 1.0 / n} for c in range(1, n + 1)]

    return {
        "rev4": f"{rev:04d}",
        "epic_ccds": [
            *ccds("M1", "001", "EMOS1", 7),
            *ccds("M2", "002", "EMOS2", 7),
            *ccds("PN", "003", "EPN", 12),
        ],
        "rgs_ccds": ccds("R1", "004", "RGS1", 9) + ccds("R2", "005", "RGS2", 9),
        "om_windows": [{"w": f"{w:02d}", "inst": "OM"} for w in range(int(rng.integers(1, 4)))],
        "hk": [
            {"i": i, "inst": n}
            for i, n in (
                ("M1", "EMOS1"),
                ("M2", "EMOS2"),
                ("PN", "EPN"),
                ("R1", "RGS1"),
                ("R2", "RGS2"),
                ("OM", "OM"),
            )
        ],
        "pps": [
            {"i": "M1", "exp": "001", "t": "MIEVLI", "inst": "EMOS1"},
            {"i": "M2", "exp": "002", "t": "MIEVLI", "inst": "EMOS2"},
            {"i": "PN", "exp": "003", "t": "PIEVLI", "inst": "EPN"},
        ],
    }


def _swift(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """Instruments with exposure, XRT windowed-timing mode on some, one to three UVOT filters."""
    xrt, uvot = _on(row, "xrt_exposure", "XRT"), _on(row, "uvot_exposure", "UVOTA")
    filters = pick(rng, ["w1", "m2", "w2", "uu", "bb", "vv"], 1, 3) if uvot else []
    return {
        "xrt": xrt,
        "xrt_wt": xrt if rng.random() < 0.4 else [],
        "uvot": uvot,
        "uvot_filters": [{"f": f, "inst": "UVOTA"} for f in filters],
        "bat": _on(row, "bat_exposure", "BAT"),
    }


def _suzaku(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """XIS sensors with exposure and their editing modes (3x3, 5x5, 2x2)."""
    xis, modes = [], []
    for k in range(4):
        if num(row, f"xis{k}_expo", 1.0) <= 0:
            continue
        n = max(1, min(3, int(num(row, f"xis{k}_num_modes", 1))))
        item = {"k": k, "inst": f"XIS{k}", "code": "n069" if k == 1 else "n066", "mode": "3x3"}
        xis.append(item)
        modes += [{**item, "mode": m, "frac": 1.0 / n} for m in ("3x3", "5x5", "2x2")[:n]]
    return {"xis": xis, "xis_modes": modes}


def _asca(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """SIS and GIS sensors with exposure, bit rates, and the date-based telemetry file names."""
    sis = [{"i": f"s{n}", "inst": f"SIS{n}", "unf": "0101", "scr": "0102"} for n in (0, 1)]
    gis = [{"i": f"g{n}", "inst": f"GIS{n}", "unf": "0170", "scr": "0270"} for n in (2, 3)]
    insts = [
        *(sis if num(row, "sis_exposure", 1.0) > 0 else []),
        *(gis if num(row, "gis_exposure", 1.0) > 0 else []),
    ]
    begin, end = mjd_date(span.mjd0), mjd_date(span.mjd1)
    return {
        "insts": insts,
        "sis": [d for d in insts if d["i"][0] == "s"],
        "bitrates": [{**d, "b": b, "frac": 0.5} for d in insts for b in "hm"],
        "day": begin.strftime("%y%m%d"),
        "hm0": begin.strftime("%H%M"),
        "hm1": end.strftime("%H%M"),
    }


def _integral(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """Instruments with good time in this science window."""
    isgri, picsit = _on(row, "good_isgri", "IBIS"), _on(row, "good_picsit", "IBIS")
    return {
        "isgri": isgri,
        "picsit": picsit,
        "ibis": (isgri or picsit)[:1],
        "spi": _on(row, "good_spi", "SPI"),
        "jmx1": _on(row, "good_jemx1", "JMX1"),
        "jmx2": _on(row, "good_jemx2", "JMX2"),
    }


def _rosat(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """Detector, and whether the directory is in the rationalised format (``proc_rev != 0``)."""
    hri = o[1:2].upper() == "H"
    default = "HRI" if hri else ("PSPCC" if o[:2].upper() == "RS" else "PSPCB")  # the survey used PSPC-C
    inst = text(row, "instrument", default) or default
    rdf = [{}] if num(row, "proc_rev", 2.0) != 0 else []
    return {
        "inst": "PSPCB" if inst == "PSPC" else inst,
        "rdf": rdf,
        "old": [] if rdf else [{}],
        "bands": [{"b": b} for b in ((1,) if hri else (1, 2, 3))] if rdf else [],
        "pspc": [] if hri or not rdf else [{}],
    }


def _xrism(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """Resolve if it has a data mode, one Xtend event set per non-empty data class."""
    rsl = [{"inst": "RESOLVE"}] if text(row, "rsl_datamode", "NORMAL") else []
    classes = [text(row, c, d) for c, d in (("xtd_dataclas1", "31100010"), ("xtd_dataclas2", ""))]
    xtd = [{"cls": c, "inst": "XTEND"} for c in dict.fromkeys(classes) if c]
    return {"rsl": rsl, "xtd": xtd, "xtd_first": xtd[:1]}


# ======================================================================================= layouts

_E = Entry

_NUSTAR = (
    _E("nu{o}.cat.gz", "tab", ext="CATALOG", inst="FPM"),
    _E("auxil/nu{o}_att.fits.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E("auxil/nu{o}_orb.fits.gz", "tab", ext="ORBIT", inst="SC"),
    _E("auxil/nu{o}_fpm.att.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E("event_uf/nu{o}{m}_uf.evt.gz", "evt", over="fpm"),
    _E("event_cl/nu{o}{m}01_cl.evt.gz", "evt", over="fpm_on"),
    _E("event_cl/nu{o}{m}01_gti.fits.gz", "gti", over="fpm_on", ext="STDGTI"),
    _E("event_cl/nu{o}{m}01_sk.img.gz", "img", over="fpm_on"),
    _E("event_cl/nu{o}_mast.fits.gz", "tab", ext="MAST_ASPECT", inst="SC"),
    _E("hk/nu{o}{m}_fpm.hk.gz", "tab", over="fpm", ext="HK"),
    _E("hk/nu{o}_eng.hk.gz", "tab", ext="ENG", inst="SC"),
    _E("hk/nu{o}_ceb.hk.gz", "tab", ext="CEB", inst="SC"),
)

_CXC = "{det}f{o5}"  # acisf01843 / hrcf01843
_CHANDRA = (
    _E("oif.fits", "oif"),
    _E("00README", "txt"),
    _E("axaff{o5}N00{v}_VV001_vv2.pdf", "pdf"),
    _E("axaff{o5}N00{v}_VV001_vvref2.pdf", "pdf"),
    _E(f"primary/{_CXC}N00{{v}}{{e}}_evt2.fits.gz", "evt", over="evt2s", content="EVT2"),
    _E(
        "primary/pcadf{o5}_{obi}N00{v}_asol1.fits.gz",
        "tab",
        over="obis",
        ext="ASPSOL",
        content="{asol}",
        inst="PCAD",
    ),
    _E(f"primary/{_CXC}_{{obi}}N00{{v}}_bpix1.fits.gz", "tab", over="obis", ext="BADPIX", content="BPIX"),
    _E(f"primary/{_CXC}_{{obi}}N00{{v}}_fov1.fits.gz", "tab", over="obis", ext="FOV", content="FOV"),
    _E(f"primary/{_CXC}N00{{v}}_src2.fits.gz", "tab", ext="SRCLIST", content="SRC2"),
    _E(f"primary/{_CXC}N00{{v}}_full_img2.fits.gz", "img", content="FULL_IMG"),
    _E(f"primary/{_CXC}N00{{v}}_full_img2.jpg", "jpg"),
    _E(f"primary/{_CXC}N00{{v}}_cntr_img2.fits.gz", "img", content="CNTR_IMG"),
    _E(f"primary/{_CXC}N00{{v}}_cntr_img2.jpg", "jpg"),
    _E(f"primary/{_CXC}N00{{v}}_pha2.fits.gz", "pha", over="gratings", content="PHA2"),
    _E("primary/hrcf{o5}_{obi}N00{v}_dtf1.fits.gz", "tab", over="hrc_obis", ext="DTF", content="DTF"),
    _E(f"secondary/{_CXC}_{{obi}}N00{{v}}{{e}}_evt1.fits.gz", "evt", over="subs", content="EVT1"),
    _E(f"secondary/{_CXC}_{{obi}}N00{{v}}_evt1a.fits.gz", "evt", over="grating_obis", content="EVT1A"),
    _E(f"secondary/{_CXC}_{{obi}}N00{{v}}_mtl1.fits.gz", "tab", over="obis", ext="MTL", content="MTL"),
    _E(f"secondary/{_CXC}_{{obi}}N00{{v}}{{e}}_flt1.fits.gz", "gti", over="subs", ext="FILTER", content="FLT"),
    _E(f"secondary/{_CXC}_{{obi}}N00{{v}}_msk1.fits.gz", "tab", over="obis", ext="MASK", content="MSK"),
    _E(
        f"secondary/{_CXC}_{{obi}}N00{{v}}{{e}}_stat1.fits.gz",
        "tab",
        over="subs",
        ext="EXPSTATS",
        content="STAT",
    ),
    _E("secondary/acisf{t9}N00{v}_{ccd}_bias0.fits.gz", "img", over="bias", content="BIAS"),
    _E("secondary/acisf{t9}N00{v}_pbk0.fits.gz", "tab", over="acis", ext="PARAMBLOCK", content="PBK"),
    _E(
        "secondary/aspect/pcadf{t9}N00{v}_aqual1.fits.gz",
        "tab",
        ext="ASPQUAL",
        content="ASPQUAL",
        inst="PCAD",
    ),
    _E("secondary/aspect/pcadf{t9}N00{v}_osol1.fits.gz", "tab", ext="ASPSOL", content="OSOL", inst="PCAD"),
    _E(
        "secondary/ephem/orbitf{t9}N00{v}_eph1.fits.gz",
        "tab",
        ext="EPHEM",
        content="ORBITEPHEM",
        inst="EPHEM",
    ),
    _E(
        "secondary/ephem/angelf{t9}N00{v}_eph1.fits.gz",
        "tab",
        ext="EPHEM",
        content="ANGLEEPHEM",
        inst="EPHEM",
    ),
    _E("secondary/ephem/lunef{t9}N00{v}_eph1.fits.gz", "tab", ext="EPHEM", content="LUNAREPHEM", inst="EPHEM"),
    _E(
        "secondary/ephem/solarf{t9}N00{v}_eph1.fits.gz",
        "tab",
        ext="EPHEM",
        content="SOLAREPHEM",
        inst="EPHEM",
    ),
)

_ODF = "ODF/{rev4}_{o}_"
_XMM = (
    _E("ODF/MANIFEST.{rev4}", "manifest"),
    _E(_ODF + "SCX00000SUM.SAS.gz", "txt", inst="SC"),
    _E(_ODF + "SCX00000ATS.FIT.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E(_ODF + "SCX00000TCS.FIT.gz", "tab", ext="TCS", inst="SC"),
    _E(_ODF + "SCX00000ROS.ASC.gz", "txt", inst="SC"),
    _E(_ODF + "{i}S{exp}{ccd}IME.FIT.gz", "evt", over="epic_ccds"),
    _E(_ODF + "{i}S{exp}{ccd}SPE.FIT.gz", "evt", over="rgs_ccds"),
    _E(_ODF + "OMS006{w}IMI.FIT.gz", "img", over="om_windows"),
    _E(_ODF + "{i}X00000PAH.FIT.gz", "tab", over="hk", ext="HK"),
    _E("PPS/P{o}{i}S{exp}{t}0000.FTZ", "evt", over="pps"),
    _E("PPS/P{o}EPX000OIMAGE8000.FTZ", "img", inst="EPIC"),
    _E("PPS/P{o}OBX000SUMMAR0000.HTM", "html"),
)

_SWIFT = (
    _E("auxil/sw{o}sat.fits.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E("auxil/sw{o}pat.fits.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E("auxil/sw{o}sao.fits.gz", "tab", ext="PREFILTER", inst="SC"),
    _E("auxil/sw{o}s.mkf.gz", "tab", ext="FILTER", inst="SC"),
    _E("xrt/event/sw{o}xpcw3po_uf.evt.gz", "evt", over="xrt"),
    _E("xrt/event/sw{o}xpcw3po_cl.evt.gz", "evt", over="xrt"),
    _E("xrt/event/sw{o}xwtw2po_uf.evt.gz", "evt", over="xrt_wt"),
    _E("xrt/event/sw{o}xwtw2po_cl.evt.gz", "evt", over="xrt_wt"),
    _E("xrt/hk/sw{o}xhd.hk.gz", "tab", over="xrt", ext="HK"),
    _E("xrt/hk/sw{o}xtr.hk.gz", "tab", over="xrt", ext="TRACKING"),
    _E("xrt/image/sw{o}xim_rw.img.gz", "img", over="xrt"),
    _E("xrt/products/sw{o}xpcw3po_sk.img.gz", "img", over="xrt"),
    _E("xrt/products/sw{o}xpcw3po_ex.img.gz", "img", over="xrt", ext="EXPOSURE"),
    _E("xrt/products/sw{o}xpcw3posr.pha.gz", "pha", over="xrt"),
    _E("uvot/event/sw{o}u{f}w1po_uf.evt.gz", "evt", over="uvot_filters"),
    _E("uvot/hk/sw{o}uac.hk.gz", "tab", over="uvot", ext="HK"),
    _E("uvot/image/sw{o}u{f}_rw.img.gz", "img", over="uvot_filters"),
    _E("uvot/image/sw{o}u{f}_sk.img.gz", "img", over="uvot_filters"),
    _E("uvot/products/sw{o}u{f}_sk.gif", "gif", over="uvot_filters"),
    _E("bat/event/sw{o}bevshpo_uf.evt.gz", "evt", over="bat"),
    _E("bat/rate/sw{o}brtms.lc.gz", "lc", over="bat"),
    _E("bat/rate/sw{o}brt1s.lc.gz", "lc", over="bat"),
    _E("bat/survey/sw{o}bsvpbo.dph.gz", "tab", over="bat", ext="BAT_DPH"),
)

_AE = "ae{o}xi{k}_0_{mode}{code}"
_SUZAKU = (
    _E("auxil/ae{o}.att.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E("auxil/ae{o}.orb.gz", "tab", ext="ORBIT", inst="SC"),
    _E("auxil/ae{o}.tim.gz", "tab", ext="TIM", inst="SC"),
    _E("auxil/ae{o}.ehk.gz", "tab", ext="EHK", inst="SC"),
    _E("auxil/ae{o}.mkf.gz", "tab", ext="FILTER", inst="SC"),
    _E(f"xis/event_uf/{_AE}z_uf.evt.gz", "evt", over="xis_modes"),
    _E(f"xis/event_cl/{_AE}a_cl.evt.gz", "evt", over="xis_modes"),
    _E("xis/hk/ae{o}xi{k}_0.hk.gz", "tab", over="xis", ext="HK"),
    _E("xis/hk/ae{o}xis_0.hk.gz", "tab", ext="HK", inst="XIS"),
    _E(f"xis/products/{_AE}a_sk.img.gz", "img", over="xis"),
    _E(f"xis/products/{_AE}a_sr.pi.gz", "pha", over="xis"),
    _E(f"xis/products/{_AE}a_sr.lc.gz", "lc", over="xis"),
)

_ASCA = (
    _E("aux/fa{day}_{hm0}.{hm1}.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E("aux/ad{o}.mkf.gz", "tab", ext="FILTER", inst="SC"),
    _E("calib/ad{o}{i}_rdd.fits.gz", "img", over="sis"),
    _E("telem/ft{day}_{hm0}.{hm1}.gz", "tab", ext="TELEMETRY", inst="SC"),
    _E("unscreened/ad{o}{i}0{unf}{b}.unf.gz", "evt", over="bitrates"),
    _E("screened/ad{o}{i}0{scr}h.evt.gz", "evt", over="insts"),
    _E("images/ad{o}{i}.img.gz", "img", over="insts"),
    _E("spectra/ad{o}{i}.pha.gz", "pha", over="insts"),
    _E("lcurves/ad{o}{i}.lc.gz", "lc", over="insts"),
)

_INTEGRAL = (
    _E("swg.fits", "tab", ext="GROUPING", inst="INTEGRAL"),
    _E("{o}_scw.txt", "txt"),
    _E("sc_hk.fits.gz", "tab", ext="SC-HK", inst="SC"),
    _E("swg_ibis.fits", "tab", over="ibis", ext="GROUPING"),
    _E("ibis_hk.fits.gz", "tab", over="ibis", ext="HK"),
    _E("isgri_events.fits.gz", "evt", over="isgri"),
    _E("picsit_events.fits.gz", "evt", over="picsit"),
    _E("compton_events.fits.gz", "evt", over="ibis"),
    _E("swg_jmx1.fits", "tab", over="jmx1", ext="GROUPING"),
    _E("jmx1_events.fits.gz", "evt", over="jmx1"),
    _E("swg_jmx2.fits", "tab", over="jmx2", ext="GROUPING"),
    _E("jmx2_events.fits.gz", "evt", over="jmx2"),
    _E("swg_spi.fits", "tab", over="spi", ext="GROUPING"),
    _E("spi_oper.fits.gz", "evt", over="spi"),
    _E("spi_hk.fits.gz", "tab", over="spi", ext="HK"),
)
_INTEGRAL_REV = (
    _E("raw/isgri_raw_cal_{o}0000.fits.gz", "tab", ext="ISGR-CAL", inst="IBIS"),
    _E("raw/spi_raw_acs_{o}0000.fits.gz", "tab", ext="SPI-ACS", inst="SPI"),
    _E("osm/isgri_context_{o}0000.fits.gz", "tab", ext="ISGR-CTXT", inst="IBIS"),
)
_INTEGRAL_ADP = (
    _E("attitude_historic.fits.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E("orbit_historic.fits.gz", "tab", ext="ORBIT", inst="SC"),
    _E("time_correlation.fits.gz", "tab", ext="TIME-CORR", inst="SC"),
    _E("revolution.fits.gz", "tab", ext="REVOLUTION", inst="SC"),
)

_ROSAT = (
    _E("{lo}_anc.fits.Z", "tab", over="rdf", ext="ANCILLARY"),
    _E("{lo}_bas.fits.Z", "evt", over="rdf"),
    _E("{lo}_bk{b}.fits.Z", "img", over="bands", ext="BACKGROUND"),
    _E("{lo}_im{b}.fits.Z", "img", over="bands"),
    _E("{lo}_mex.fits.Z", "img", over="pspc", ext="EXPOSURE"),
    _E("{lo}.fits.Z", "evt", over="old"),
)

_XA = "xa{o}"
_XRISM = (
    _E(f"auxil/{_XA}.att.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E(f"auxil/{_XA}.orb.gz", "tab", ext="ORBIT", inst="SC"),
    _E(f"auxil/{_XA}.ehk.gz", "tab", ext="EHK", inst="SC"),
    _E(f"auxil/{_XA}.mkf.gz", "tab", ext="FILTER", inst="SC"),
    _E(f"auxil/{_XA}.tim.gz", "tab", ext="TIM", inst="SC"),
    _E(f"resolve/event_uf/{_XA}rsl_p0px1000_uf.evt.gz", "evt", over="rsl"),
    _E(f"resolve/event_cl/{_XA}rsl_p0px1000_cl.evt.gz", "evt", over="rsl"),
    _E(f"resolve/hk/{_XA}rsl_a0.hk1.gz", "tab", over="rsl", ext="HK"),
    _E(f"resolve/products/{_XA}rsl_p0px1000_cl.pi.gz", "pha", over="rsl"),
    _E(f"resolve/products/{_XA}rsl_p0px1000_cl.lc.gz", "lc", over="rsl"),
    _E(f"xtend/event_uf/{_XA}xtd_p0{{cls}}_uf.evt.gz", "evt", over="xtd"),
    _E(f"xtend/event_cl/{_XA}xtd_p0{{cls}}_cl.evt.gz", "evt", over="xtd"),
    _E(f"xtend/hk/{_XA}xtd_a0.hk.gz", "tab", over="xtd_first", ext="HK"),
    _E(f"xtend/products/{_XA}xtd_p0{{cls}}_cl.img.gz", "img", over="xtd"),
    _E(f"xtend/products/{_XA}xtd_p0{{cls}}_cl.pi.gz", "pha", over="xtd"),
)

#: Every HEASARC master table the sandbox serves, with its archive layout (daxa.md section 1.4).
MISSIONS: dict[str, Mission] = {
    "numaster": Mission(
        "NuSTAR",
        "obsid",
        "nustar/data/obs/{o12}/{o0}/{o}/",
        "time",
        "end_time",
        55197.0,
        "FPMA",
        40.0,
        (3e3, 79e3),
        6.8e-4,
        _NUSTAR,
        _nustar,
    ),
    "chanmaster": Mission(
        "CHANDRA",
        "obsid",
        "chandra/data/byobsid/{olast}/{o}/",
        "time",
        "",
        50814.0,
        "ACIS",
        14.6,
        (300.0, 10e3),
        1.366e-4,
        _CHANDRA,
        _chandra,
        span="exposure",
    ),
    "xmmmaster": Mission(
        "XMM",
        "obsid",
        "xmm/data/rev0/{o}/",
        "time",
        "end_time",
        50814.0,
        "EPN",
        5.0,
        (150.0, 12e3),
        1.2e-3,
        _XMM,
        _xmm,
    ),
    "swiftmastr": Mission(
        "SWIFT",
        "obsid",
        "swift/data/obs/{ym}/{o}/",
        "start_time",
        "stop_time",
        51910.0,
        "XRT",
        10.0,
        (300.0, 10e3),
        6.5e-4,
        _SWIFT,
        _swift,
    ),
    "suzamaster": Mission(
        "SUZAKU",
        "obsid",
        "suzaku/data/obs/{o0}/{o}/",
        "time",
        "stop_time",
        51544.0,
        "XIS0",
        3.65,
        (200.0, 12e3),
        2.9e-4,
        _SUZAKU,
        _suzaku,
    ),
    "ascamaster": Mission(
        "ASCA",
        "sequence_number",
        "asca/data/rev2/{o}/",
        "time",
        "end_time",
        48988.0,
        "SIS0",
        3.65,
        (400.0, 10e3),
        7.4e-4,
        _ASCA,
        _asca,
    ),
    "intscwpub": Mission(
        "INTEGRAL",
        "scw_id",
        "integral/data/scw/{rev}/{o}.{ver}/",
        "start_date",
        "end_date",
        51544.0,
        "IBIS",
        500.0,
        (15e3, 1e6),
        1.3e-2,
        _INTEGRAL,
        _integral,
        day_time=True,
        shared=(
            ("integral/data/scw/{rev}/rev.001/", _INTEGRAL_REV),
            ("integral/data/aux/adp/{rev}.001/", _INTEGRAL_ADP),
        ),
    ),
    "rosmaster": Mission(
        "ROSAT",
        "seq_id",
        "rosat/data/{rdet}/processed_data/{o2}00000/{lo}/",
        "start_time",
        "end_time",
        48043.0,
        "PSPCB",
        10.0,
        (100.0, 2.4e3),
        1.4e-4,
        _ROSAT,
        _rosat,
    ),
    "rassmaster": Mission(
        "ROSAT",
        "seq_id",
        "rosat/data/pspc/processed_data/900000/{lo}/",
        "start_date",
        "end_date",
        48043.0,
        "PSPCC",
        10.0,
        (100.0, 2.4e3),
        1.4e-4,
        _ROSAT,
        _rosat,
    ),
    "xrismmastr": Mission(
        "XRISM",
        "obsid",
        "xrism/data/obs/{o0}/{o}/",
        "time",
        "end_time",
        58484.0,
        "XTEND",
        6.0,
        (300.0, 16e3),
        4.8e-4,
        _XRISM,
        _xrism,
    ),
}


def _mission(table: str) -> Mission:
    """The layout of ``table``; KeyError naming the known tables otherwise."""
    try:
        return MISSIONS[table]
    except KeyError:
        known = ", ".join(MISSIONS)
        raise KeyError(f"no HEASARC archive layout for table {table!r}; known: {known}") from None


# ======================================================================================= observation


def _span(mission: Mission, row: Mapping[str, Any]) -> Span:
    """The observation's time range, never shorter than 1000 s."""
    mjd0 = num(row, mission.start, mission.mjdref + 1000.0)
    if mission.stop:
        mjd1 = num(row, mission.stop, math.nan)
    else:
        mjd1 = mjd0 + num(row, mission.span, 0.0) / 86400.0
    if not math.isfinite(mjd1):
        mjd1 = mjd0 + 10_000.0 / 86400.0
    mjd1 = max(mjd1, mjd0 + 1000.0 / 86400.0)
    scale, digits = (1.0, 9) if mission.day_time else (86400.0, 3)  # mission times to the millisecond
    return Span(
        mjd0,
        mjd1,
        round((mjd0 - mission.mjdref) * scale, digits),
        round((mjd1 - mission.mjdref) * scale, digits),
    )


def _gtis(rng: np.random.Generator, t0: float, t1: float, seconds: float) -> np.ndarray:
    """One to three good-time intervals covering most of ``[t0, t1]``, split by gaps of about 3%."""
    pieces = 1 + int(seconds > 20_000) + int(seconds > 60_000)
    edges = np.concatenate([[0.002], np.sort(rng.uniform(0.15, 0.85, pieces - 1)), [0.998]])
    starts = edges[:-1].copy()
    starts[1:] += 0.03 * rng.uniform(0.5, 1.5, pieces - 1)
    return t0 + np.column_stack([starts, edges[1:]]) * (t1 - t0)


def _flare(rng: np.random.Generator, gtis: np.ndarray) -> tuple[float, float] | None:
    """A flare window (4% of the longest GTI) in about 40% of observations."""
    if rng.random() >= 0.4:
        return None
    lo, hi = gtis[int(np.argmax(gtis[:, 1] - gtis[:, 0]))]
    width = 0.04 * (hi - lo)
    start = lo + rng.uniform(0.1, 0.86) * (hi - lo)
    return float(start), float(start + width)


def _observation(table: str, row: Mapping[str, Any]) -> Obs:
    """Collect the fields, times, GTIs and flare of one master-table row."""
    mission = _mission(table)
    fields = _path_fields(mission, row)
    rng = np.random.default_rng([crc(table), crc(fields["o"])])
    span = _span(mission, row)
    fields.update(mission.context(row, rng, fields["o"], span))
    gtis = _gtis(rng, span.t0, span.t1, (span.mjd1 - span.mjd0) * 86400.0)
    ra, dec = num(row, "ra", math.nan), num(row, "dec", math.nan)
    if not (math.isfinite(ra) and math.isfinite(dec)):
        ra = dec = None
    target = text(row, "name", "") or fields["o"]
    return Obs(table, mission, fields["o"], span, fields, ra, dec, target, gtis, _flare(rng, gtis))


def _revolution(table: str, rev: str) -> Obs:
    """A pseudo-observation for an INTEGRAL revolution's shared directories (3 days from IJD 1096 + 3 rev)."""
    mission = _mission(table)
    mjd0 = 52640.0 + 3.0 * int(rev)
    span = Span(mjd0, mjd0 + 3.0, mjd0 - mission.mjdref, mjd0 + 3.0 - mission.mjdref)
    rng = np.random.default_rng([crc(table), crc(rev)])
    gtis = _gtis(rng, span.t0, span.t1, 3 * 86400.0)
    return Obs(table, mission, rev, span, {"o": rev, "rev": rev}, None, None, f"REVOLUTION {rev}", gtis)


# ======================================================================================= directories


def _listing(root: Path, directory: Path) -> list[str]:
    """Files below ``directory``, as sorted POSIX paths relative to ``root``."""
    return sorted(p.relative_to(root).as_posix() for p in directory.rglob("*") if p.is_file())


def _materialise(root: Path, reldir: str, render: Callable[[], dict[str, bytes]]) -> list[str]:
    """Build ``root/reldir`` atomically (temporary sibling, then rename) unless it already exists."""
    target = root / reldir
    if not target.is_dir() or not any(target.iterdir()):  # an empty directory is replaced by the rename
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        try:
            for rel, payload in render().items():
                path = tmp / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(payload)
            os.chmod(tmp, 0o755)
            try:
                os.rename(tmp, target)
            except OSError:  # another builder won the race: keep its (identical) directory
                if not target.is_dir():
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return _listing(root, target)


def observation_path(table: str, row: Mapping[str, Any]) -> str:
    """The observation's directory below the FTP root (relative, trailing slash), by HEASARC's rules."""
    mission = _mission(table)
    return mission.path.format(**_path_fields(mission, row))


def shared_paths(table: str, row: Mapping[str, Any]) -> list[str]:
    """Directories the observation shares with others (INTEGRAL revolution data), relative, trailing slash."""
    mission = _mission(table)
    fields = _path_fields(mission, row)
    return [template.format(**fields) for template, _ in mission.shared]


def build_observation(table: str, row: Mapping[str, Any], root: Path) -> list[str]:
    """Write every file of the observation under ``root`` (once) and return their sorted relative paths.

    INTEGRAL rows also get their revolution's shared ``rev.001`` and ``aux/adp`` directories, which
    are included in the returned list.
    """
    root = Path(root)
    mission = _mission(table)
    fields = _path_fields(mission, row)
    paths = _materialise(root, mission.path.format(**fields), lambda: render(_observation(table, row), mission.entries))
    for template, entries in mission.shared:
        paths += _materialise(
            root, template.format(**fields), lambda e=entries: render(_revolution(table, fields["rev"]), e)
        )
    return sorted(paths)
