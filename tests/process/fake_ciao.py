"""Stand-ins for CIAO's tools, so the CIAO adapters can be tested where CIAO cannot be installed.

Each tool checks the command line it receives (parameter=value pairs, the ones vodaxa must pass),
records it in ``$FAKE_CIAO_LOG`` (one JSON line each), and writes plausible FITS outputs computed
from its inputs.  ``$FAKE_CIAO_FAIL`` ("tool:text") makes ``tool`` fail when ``text`` is in its
arguments; ``$FAKE_CIAO_NO_CALDB`` makes ``ciaover`` report no CALDB.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
from astropy.io import fits

REQUIRED = {
    "chandra_repro": {"indir", "outdir", "root", "badpixel", "process_events", "destreak", "set_ardlib",
                      "check_vf_pha", "pix_adj", "tg_zo_position", "asol_update", "pi_filter", "cleanup", "verbose"},
    "dmextract": {"infile", "outfile", "opt"},
    "deflare": {"infile", "outfile", "method", "nsigma", "minlength"},
    "fluximage": {"infile", "outroot", "binsize", "asolfile", "badpixfile", "units", "maskfile"},
}  # fmt: skip


def _params(argv: list[str]) -> dict[str, str]:
    out = {}
    for word in argv:
        key, sep, value = word.partition("=")
        if sep:
            out[key] = value
    return out


def _fail(message: str) -> int:
    print(f"# {Path(sys.argv[0]).name} ({message})", file=sys.stderr)
    return 1


def _plain(path: Path, target: Path) -> None:
    """Copy a (possibly gzipped) FITS file, uncompressed."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as src, open(target, "wb") as out:
        shutil.copyfileobj(src, out)


def _split(spec: str) -> tuple[Path, list[str]]:
    """'file[EVENTS][a=1,b=2][bin ...]' -> (file, ['EVENTS', 'a=1,b=2', 'bin ...'])."""
    name = spec.split("[", 1)[0]
    return Path(name), re.findall(r"\[([^\]]*)\]", spec)


def chandra_repro(p: dict[str, str]) -> int:
    raw, out, root = Path(p["indir"]), Path(p["outdir"]), p["root"]
    evt2 = sorted(raw.glob("primary/*evt2.fits*"))
    if not evt2 or not (raw / "oif.fits").exists():
        return _fail(f"no evt2 or oif.fits in {raw}")
    if p["pix_adj"] not in ("default", "edser", "none", "randomize"):
        return _fail(f"bad pix_adj {p['pix_adj']}")
    with fits.open(evt2[0]) as hdul:  # chandra_repro keeps grades 0,2,3,4,6
        events = hdul["EVENTS"]
        keep = np.isin(events.data["GRADE"], [0, 2, 3, 4, 6])
        hdus = fits.HDUList([hdul[0].copy(), fits.BinTableHDU(events.data[keep], events.header, name="EVENTS"),
                             *[h.copy() for h in hdul[2:]]])  # fmt: skip
        hdus[1].header["HISTORY"] = "fake chandra_repro"
        hdus.writeto(out / f"{root}_repro_evt2.fits")
    for pattern, suffix in (("secondary/*flt1.fits*", "flt1"), ("primary/*bpix1.fits*", "bpix1"),
                            ("primary/*fov1.fits*", "fov1")):  # fmt: skip
        found = sorted(raw.glob(pattern))
        if not found:
            return _fail(f"no {pattern}")
        _plain(found[0], out / f"{root}_repro_{suffix}.fits")
    mask = sorted(raw.glob("secondary/*msk1.fits*"))
    _plain(mask[0], out / mask[0].name.removesuffix(".gz"))
    asol = sorted(raw.glob("primary/pcadf*asol1.fits*"))
    o5 = re.search(r"pcadf(\d{5})", asol[0].name).group(1)
    _plain(asol[0], out / f"pcadf{o5}_repro_asol1.fits")
    for dtf in raw.glob("primary/*dtf1.fits*"):
        _plain(dtf, out / dtf.name.removesuffix(".gz"))
    print(f"chandra_repro: reprocessed {raw} into {out}")
    return 0


def dmextract(p: dict[str, str]) -> int:
    path, filters = _split(p["infile"])
    binning = next((f for f in filters if f.startswith("bin time=")), None)
    if p["opt"] != "ltc1" or binning is None:
        return _fail("a light curve needs opt=ltc1 and [bin time=::<size>]")
    size = float(binning.rsplit(":", 1)[1])
    with fits.open(path) as hdul:
        times = hdul["EVENTS"].data["TIME"]
        energy = hdul["EVENTS"].data["ENERGY"]
        lo, hi = float(hdul["EVENTS"].header["TSTART"]), float(hdul["EVENTS"].header["TSTOP"])
    band = next((f for f in filters if f.startswith("energy=")), None)
    if band:
        a, b = (float(v) for v in band[7:].split(":"))
        times = times[(energy >= a) & (energy < b)]
    edges = lo + size * np.arange(int((hi - lo) // size) + 1)
    counts, _ = np.histogram(times, edges)
    cols = [fits.Column("TIME", "D", array=edges[:-1] + size / 2), fits.Column("COUNTS", "J", array=counts),
            fits.Column("COUNT_RATE", "D", array=counts / size)]  # fmt: skip
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="LIGHTCURVE")]).writeto(p["outfile"])
    return 0


def deflare(p: dict[str, str]) -> int:
    if p["method"] != "sigma":
        return _fail("only method=sigma here")
    with fits.open(p["infile"]) as hdul:
        lc = hdul["LIGHTCURVE"].data
    rate, half = lc["COUNT_RATE"], np.diff(lc["TIME"]).min() / 2 if len(lc) > 1 else 100.0
    good = np.abs(rate - rate.mean()) <= float(p["nsigma"]) * rate.std() if rate.std() else np.ones(len(rate), bool)
    starts, stops = lc["TIME"][good] - half, lc["TIME"][good] + half
    cols = [fits.Column("START", "D", array=starts), fits.Column("STOP", "D", array=stops)]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="GTI")]).writeto(p["outfile"])
    return 0


def dmcopy(argv: list[str]) -> int:
    positional = [a for a in argv if "=" not in a.split("[", 1)[0]]
    if len(positional) != 2:
        return _fail(f"dmcopy needs an input and an output, got {positional}")
    (path, filters), target = _split(positional[0]), positional[1]
    with fits.open(path) as hdul:
        events = hdul["EVENTS"]
        keep = np.ones(len(events.data), bool)
        for f in filters[1:]:
            if f.startswith("@"):
                with fits.open(f[1:]) as g:
                    gti = g["GTI"].data
                inside = np.zeros_like(keep)
                for start, stop in zip(gti["START"], gti["STOP"], strict=True):
                    inside |= (events.data["TIME"] >= start) & (events.data["TIME"] < stop)
                keep &= inside
                continue
            for part in re.split(r",(?=[a-z]+=)", f):
                key, _, value = part.partition("=")
                if key == "energy":
                    a, b = (float(v) for v in value.split(":"))
                    keep &= (events.data["ENERGY"] >= a) & (events.data["ENERGY"] < b)
                elif key == "grade":
                    keep &= np.isin(events.data["GRADE"], [int(g) for g in value.split(",")])
                elif key == "status":
                    keep &= ~np.asarray(events.data["STATUS"]).reshape(len(keep), -1).any(axis=1)
                else:
                    return _fail(f"unknown filter {part}")
        fits.HDUList([hdul[0].copy(), fits.BinTableHDU(events.data[keep], events.header, name="EVENTS")]).writeto(
            target
        )
    return 0


def fluximage(p: dict[str, str]) -> int:
    path, _ = _split(p["infile"])
    with fits.open(path) as hdul:
        data = hdul["EVENTS"].data
    size = float(p["binsize"])
    bands = [b.split(":") for b in p["bands"].split(",")] if "bands" in p else [["wide"]]
    for band in bands:
        name = "wide" if band == ["wide"] else f"{band[0]}-{band[1]}"
        sel = np.ones(len(data), bool) if name == "wide" else \
            (data["ENERGY"] >= float(band[0]) * 1000) & (data["ENERGY"] < float(band[1]) * 1000)  # fmt: skip
        image, _, _ = np.histogram2d(data["Y"][sel], data["X"][sel], bins=int(1024 / size), range=[[0.5, 1024.5]] * 2)
        expmap = np.full(image.shape, 1000.0)
        for suffix, values in (("thresh.img", image), ("thresh.expmap", expmap), ("flux.img", image / expmap),
                               ("thresh.psfmap", np.ones(image.shape))):  # fmt: skip
            fits.PrimaryHDU(values).writeto(f"{p['outroot']}_{name}_{suffix}")
    return 0


def ciaover(argv: list[str]) -> int:
    caldb = "not installed" if os.environ.get("FAKE_CIAO_NO_CALDB") else "4.11.5"
    print("The current environment is configured for:")
    print("  CIAO        : CIAO 4.17.0 Friday, December 06, 2024")
    print("  Contrib     : Package release 1  Friday, December 06, 2024")
    print("  bin dir     : /opt/ciao/bin")
    print("  Python path : /opt/ciao/bin")
    print(f"  CALDB       : {caldb}")
    return 0


def main(tool: str, argv: list[str]) -> int:
    """Run the fake ``tool`` with ``argv``; its exit status."""
    log = os.environ.get("FAKE_CIAO_LOG")
    if log:
        with open(log, "a") as out:
            out.write(json.dumps({"tool": tool, "argv": argv, "cwd": os.getcwd(), "pfiles": os.environ.get("PFILES"),
                                  "ppid": os.getppid()})
                      + "\n")  # fmt: skip
    failing = os.environ.get("FAKE_CIAO_FAIL", "")
    if failing:
        name, _, text = failing.partition(":")
        if name == tool and text in " ".join(argv):
            return _fail(f"injected failure for {text}")
    params = _params(argv)
    missing = REQUIRED.get(tool, set()) - set(params)
    if missing:
        return _fail(f"missing parameters: {', '.join(sorted(missing))}")
    handlers = {"chandra_repro": chandra_repro, "dmextract": dmextract, "deflare": deflare, "fluximage": fluximage}
    if tool in handlers:
        return handlers[tool](params)
    return {"dmcopy": dmcopy, "ciaover": ciaover}[tool](argv)


TOOLS = ("ciaover", "chandra_repro", "dmextract", "deflare", "dmcopy", "fluximage")


def install(folder: Path) -> Path:
    """Write one executable per tool into ``folder`` (run with this Python); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).resolve().parent
    for tool in TOOLS:
        script = folder / tool
        script.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(here)!r})\n"
                          f"from fake_ciao import main\nsys.exit(main({tool!r}, sys.argv[1:]))\n")  # fmt: skip
        script.chmod(0o755)
    return folder
