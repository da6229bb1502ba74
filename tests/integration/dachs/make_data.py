#!/usr/bin/env python3
"""Deterministic synthetic NuSTAR-like master table served by the DaCHS integration harness.

Standard library only, on purpose: ``setup.sh`` runs it with Debian's ``/usr/bin/python3`` (the one DaCHS
uses) to write the import CSV and the static product files, and the integration tests import it under the
project's Python to compute every expected answer by brute force over :func:`rows`.

    python3 make_data.py OUTDIR      # writes OUTDIR/master.csv and OUTDIR/products/<obsid>/...

Row groups (all positions in ICRS degrees, times in MJD):

* 12 observations within 0.38 deg of 3C 105 (no other row within 1.5 deg of it), exposures 2.5-80 ks;
* 9 observations around RA 0/360 near the equator (7 inside RA 359.5..0.5, Dec -2..2, 2 just outside);
* 7 observations within 0.7 deg of the celestial poles;
* ``scheduled``/``accepted`` rows: NULL public_date, zero exposures and on-times;
* proprietary rows: public_date in the far future (>= MJD 69000, i.e. 2047);
* SLEW and CALIBRATION rows, some with both on-times 0;
* the rest scattered over the sky, away from the special regions above.

Past public dates are all before MJD 61000, so "public now" is unambiguous for decades.
"""

from __future__ import annotations

import csv
import math
import os
import random
import struct
import sys
from typing import Any

SEED = 20261121
NROWS = 300
DID_PREFIX = "ivo://x-vodaxa.test/numaster?"
SOURCE_3C105 = (61.8232, 3.7099)
CLUSTER_MAX_SEP = 0.38
WRAP_BOX = {"ra_min": 359.5, "ra_max": 0.5, "dec_min": -2.0, "dec_max": 2.0}
LAST_PAST_PUBLIC_MJD = 61000.0
FIRST_FUTURE_PUBLIC_MJD = 69000.0

COLUMNS = [
    "obsid",
    "pubdid",
    "name",
    "ra",
    "dec",
    "time",
    "end_time",
    "exposure_a",
    "exposure_b",
    "ontime_a",
    "ontime_b",
    "observation_mode",
    "spacecraft_mode",
    "status",
    "public_date",
    "subject_category",
    "obs_type",
    "issue_flag",
]

TARGETS = [
    "NGC 4151",
    "3C 273",
    "Cyg X-1",
    "Vela X-1",
    "Her X-1",
    "Sco X-1",
    "M 87",
    "Cen A",
    "Mrk 421",
    "Mrk 501",
    "SN 1987A",
    "Cas A",
    "GX 339-4",
    "4U 1820-30",
    "PKS 2155-304",
    "GRS 1915+105",
    "NGC 1068",
    "Circinus Galaxy",
    "Perseus Cluster",
    "Sgr A*",
    "Crab",
    "Coma Cluster",
    "IC 342 X-1",
]
CATEGORIES = {
    "AGN": "ACTIVE GALAXIES AND QUASARS",
    "XRB": "GALACTIC COMPACT SOURCES",
    "SNR": "SUPERNOVAE, SUPERNOVA REMNANTS AND ISOLATED NEUTRON STARS",
    "CL": "CLUSTERS OF GALAXIES",
    "STAR": "STARS AND WHITE DWARFS",
    "CAL": "CALIBRATION",
}
OBSID_PREFIX = {"CAL": "0", "GT": "3", "GO": "6", "LEGACY": "7", "DDT": "9"}
PROGRAM_TYPE_DRAW = ["GO", "GO", "GO", "GT", "LEGACY", "DDT"]  # GO weighted 3x for science rows

Row = dict[str, Any]


def separation(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance in degrees (haversine, numerically safe at small angles and at the poles)."""
    p1, p2 = math.radians(dec1), math.radians(dec2)
    dra = math.radians(ra2 - ra1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dra / 2) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h))))


def offset(ra: float, dec: float, sep: float, pa: float) -> tuple[float, float]:
    """Point at great-circle distance ``sep`` deg and position angle ``pa`` deg from (ra, dec)."""
    d, p, r = math.radians(dec), math.radians(pa), math.radians(sep)
    dec2 = math.asin(math.sin(d) * math.cos(r) + math.cos(d) * math.sin(r) * math.cos(p))
    ra2 = math.radians(ra) + math.atan2(
        math.sin(p) * math.sin(r) * math.cos(d), math.cos(r) - math.sin(d) * math.sin(dec2)
    )
    return math.degrees(ra2) % 360.0, math.degrees(dec2)


def is_public(row: Row, now_mjd: float) -> bool:
    """Whether an observation's data are public at ``now_mjd`` (NULL public_date means never yet)."""
    return row["public_date"] is not None and row["public_date"] <= now_mjd


class _Factory:
    """Builds rows with unique obsids and consistent times/exposures from one seeded generator."""

    def __init__(self) -> None:
        """Start the seeded generator and the obsid sequence."""
        self.rnd = random.Random(SEED)
        self.seq = 1000
        self.out: list[Row] = []

    def add(
        self,
        ra: float,
        dec: float,
        *,
        name: str | None = None,
        exposure: float | None = None,
        status: str = "archived",
        mode: str = "SCIENCE",
        obs_type: str | None = None,
        start: float | None = None,
        zero_ontime: bool = False,
    ) -> Row:
        """Append one row; unspecified fields are drawn at random but consistently with the status."""
        rnd = self.rnd
        self.seq += rnd.randint(1, 40)
        if obs_type is None:
            obs_type = "CAL" if mode == "CALIBRATION" else rnd.choice(PROGRAM_TYPE_DRAW)
        visit = rnd.randint(1, 4) * 2
        obsid = f"{OBSID_PREFIX[obs_type]}{self.seq:07d}{visit:03d}"
        category = "CAL" if obs_type == "CAL" else rnd.choice(["AGN", "XRB", "SNR", "CL", "STAR"])
        if start is None:
            future = status in ("scheduled", "accepted")
            start = rnd.uniform(61380.0, 61700.0) if future else rnd.uniform(56100.0, 60800.0)
        if status in ("scheduled", "accepted") or zero_ontime:
            exp_a = exp_b = ont_a = ont_b = 0.0
            planned = exposure if exposure is not None else float(rnd.randint(10, 80) * 1000)
            duration = planned / 0.55
        else:
            if exposure is None:
                exposure = float(rnd.randint(5, 150) * 1000 + rnd.randint(0, 999))
            exp_a = exposure
            exp_b = round(exp_a * rnd.uniform(0.97, 1.03), 1)
            ont_a = round(exp_a / rnd.uniform(0.80, 0.95), 1)
            ont_b = round(ont_a * rnd.uniform(0.99, 1.01), 1)
            duration = max(ont_a, ont_b) / 0.55
        start = round(start, 6)
        end = round(start + duration / 86400.0, 6)
        if status in ("scheduled", "accepted"):
            public: float | None = None
        elif status == "processed" and rnd.random() < 0.7:
            public = round(FIRST_FUTURE_PUBLIC_MJD + rnd.uniform(0.0, 900.0), 6)
        else:
            public = round(min(end + 30.0 + rnd.uniform(0.0, 365.0), LAST_PAST_PUBLIC_MJD - 1.0), 6)
        row: Row = {
            "obsid": obsid,
            "pubdid": DID_PREFIX + obsid,
            "name": name or rnd.choice(TARGETS),
            "ra": round(ra % 360.0, 6),
            "dec": round(dec, 6),
            "time": start,
            "end_time": end,
            "exposure_a": exp_a,
            "exposure_b": exp_b,
            "ontime_a": ont_a,
            "ontime_b": ont_b,
            "observation_mode": mode,
            "spacecraft_mode": "SLEW" if mode == "SLEW" else "INERTIAL",
            "status": status,
            "public_date": public,
            "subject_category": CATEGORIES[category],
            "obs_type": obs_type,
            "issue_flag": 1 if rnd.random() < 0.1 else 0,
        }
        self.out.append(row)
        return row


def _far_from_special_regions(ra: float, dec: float) -> bool:
    """Keep scattered rows clear of 3C 105, the RA-wrap box and the poles so those tests stay exact."""
    if separation(ra, dec, *SOURCE_3C105) < 1.5:
        return False
    if (ra > 357.0 or ra < 3.0) and abs(dec) < 5.0:
        return False
    return abs(dec) < 85.0


def rows() -> list[Row]:
    """All rows of vodaxa.numaster, typed (float/int/str, None for NULL), in a fixed order."""
    f = _Factory()
    rnd = f.rnd
    # 3C 105 field: 12 pointings within CLUSTER_MAX_SEP, exposures spanning the 10 ks mark.
    cluster_exposures = [
        2500.0,
        4800.0,
        7200.0,
        9500.0,
        12000.0,
        18000.0,
        25000.0,
        33000.0,
        41000.0,
        52000.0,
        60000.0,
        80000.0,
    ]
    cluster_status = ["archived"] * 9 + ["processed", "processed", "scheduled"]
    for i, exp in enumerate(cluster_exposures):
        sep = 0.0 if i == 0 else CLUSTER_MAX_SEP * math.sqrt(rnd.uniform(0.05, 1.0))
        ra, dec = offset(*SOURCE_3C105, sep, rnd.uniform(0.0, 360.0))
        f.add(ra, dec, name="3C 105" if i < 8 else "3C 105 offset", exposure=exp, status=cluster_status[i])
    # Around RA 0/360: inside RA 359.5..0.5 / Dec -2..2, then just outside in RA and in Dec.
    for ra, dec in [
        (359.9, 0.3),
        (0.1, -0.4),
        (359.75, 1.2),
        (0.25, -1.5),
        (359.97, 0.05),
        (0.03, 1.8),
        (359.6, -1.9),
    ]:
        f.add(ra, dec, name="Wrap field")
    for ra, dec in [(359.2, 0.5), (0.8, -0.5), (0.2, 2.6)]:
        f.add(ra, dec, name="Wrap outside")
    # Near the poles (distances from the pole 0.05, 0.2, 0.4, 0.7 deg north; 0.1, 0.3, 0.6 south).
    for ra, dec in [
        (10.0, 89.95),
        (200.0, 89.8),
        (300.0, 89.6),
        (45.0, 89.3),
        (120.0, -89.9),
        (250.0, -89.7),
        (5.0, -89.4),
    ]:
        f.add(ra, dec, name="Polaris field" if dec > 0 else "SCP field")
    scattered: list[tuple[str, str]] = (
        [("scheduled", "SCIENCE")] * 10
        + [("accepted", "SCIENCE")] * 6
        + [("processed", "SCIENCE")] * 25
        + [("archived", "SLEW")] * 8
        + [("archived", "CALIBRATION")] * 12
    )
    while len(f.out) < NROWS:
        ra, dec = rnd.uniform(0.0, 360.0), math.degrees(math.asin(rnd.uniform(-1.0, 1.0)))
        if not _far_from_special_regions(ra, dec):
            continue
        status, mode = scattered.pop() if scattered else ("archived", "SCIENCE")
        zero = (mode != "SCIENCE" and rnd.random() < 0.5) or (status == "archived" and rnd.random() < 0.02)
        f.add(ra, dec, status=status, mode=mode, zero_ontime=zero)
    obsids = [r["obsid"] for r in f.out]
    assert len(set(obsids)) == len(obsids), "duplicate obsid"
    return f.out


def _csv_value(value: Any) -> str:
    """CSV text for one value: empty for NULL, repr() for floats so the database gets the exact double."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def fits_bytes(row: Row) -> bytes:
    """A small valid FITS file: primary header describing the observation plus a 2x2 int16 image."""
    cards = [
        "SIMPLE  =                    T / conforms to FITS standard",
        "BITPIX  =                   16 / array data type",
        "NAXIS   =                    2 / number of array dimensions",
        "NAXIS1  =                    2",
        "NAXIS2  =                    2",
        "EXTEND  =                    T",
        "TELESCOP= 'NuSTAR  '",
        "INSTRUME= 'FPMA    '",
        f"OBS_ID  = '{row['obsid']}'",
        f"OBJECT  = '{row['name'][:60]}'",
        f"RA_OBJ  = {row['ra']!r:>20}",
        f"DEC_OBJ = {row['dec']!r:>20}",
        f"MJD-OBS = {row['time']!r:>20}",
        "END",
    ]
    header = "".join(card.ljust(80) for card in cards)
    header += " " * (-len(header) % 2880)
    data = struct.pack(">4h", 1, 2, 3, 4)
    data += b"\0" * (-len(data) % 2880)
    return header.encode("ascii") + data


def readme_text(row: Row) -> str:
    """Plain-text notes linked as #documentation."""
    return (
        f"Synthetic NuSTAR-like observation {row['obsid']} of {row['name']}\n"
        f"status: {row['status']}, mode: {row['observation_mode']}, obs_type: {row['obs_type']}\n"
    )


def main(outdir: str) -> None:
    """Write master.csv (import input) and products/<obsid>/{README.txt[,events.fits]} under ``outdir``."""
    data = rows()
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "master.csv"), "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in data:
            writer.writerow([_csv_value(row[c]) for c in COLUMNS])
    for row in data:
        pdir = os.path.join(outdir, "products", row["obsid"])
        os.makedirs(pdir, exist_ok=True)
        with open(os.path.join(pdir, "README.txt"), "w", encoding="utf-8") as fh:
            fh.write(readme_text(row))
        if row["public_date"] is not None and row["public_date"] <= LAST_PAST_PUBLIC_MJD:
            with open(os.path.join(pdir, "events.fits"), "wb") as fh:
                fh.write(fits_bytes(row))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data")
