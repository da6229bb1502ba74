"""Chandra, from HEASARC's chanmaster (DAXA's Chandra); one instrument (ACIS or HRC) per observation.

Choosing HETG/LETG selects grating observations; with no grating chosen only non-grating ones, as
in DAXA.  The CXC's own TAP service is the alternative source (``chandra_cxc``, in vodaxa.archives.cxc).
"""

from collections.abc import Sequence

import pandas as pd

from ...query.adql import in_list
from ...specs.registry import FileRules, MissionSpec, register

_CLASSES = {
    "ACTIVE GALAXIES AND QUASARS": "AGN",
    "CLUSTERS OF GALAXIES": "GCL",
    "X-RAY BINARIES": "XRB",
    "BH AND NS BINARIES": "XRB",
    "SN, SNR AND ISOLATED NS": "SNR",
    "STARS AND WD": "STR",
    "WD BINARIES AND CV": "CV",
    "NORMAL GALAXIES": "NGS",
    "SOLAR SYSTEM": "SOL",
    "EXTRAGALACTIC DIFFUSE EMISSION AND SURVEYS": "EGS",
    "GALACTIC DIFFUSE EMISSION AND SURVEYS": "EGE",
    "CALIBRATION": "CAL",
}


def _instrument_condition(chosen: Sequence[str]) -> list[str]:
    detectors = [d for inst in chosen if inst in ("ACIS", "HRC") for d in (f"{inst}-I", f"{inst}-S")]
    gratings = [g for g in chosen if g in ("HETG", "LETG")] or ["NONE"]
    return [in_list("detector", detectors), in_list("grating", gratings)]


def _targets(src: pd.DataFrame) -> pd.Series:
    cat = src["class"].map(lambda v: _CLASSES.get(str(v).strip(), "MISC"))
    kind = src["type"].map(lambda v: str(v).strip())
    cat = cat.where(~((cat == "MISC") & kind.isin(["TOO", "DDT"])), "TOO")
    return cat.where(~((cat == "MISC") & (kind == "CAL")), "CAL")


CHANDRA = register(
    MissionSpec(
        name="chandra",
        pretty_name="Chandra",
        archive="heasarc",
        files=FileRules(
            raw=(
                "oif.fits",
                *(
                    f"secondary/*{t}*"
                    for t in (
                        "evt1.fits",
                        "mtl1.fits",
                        "bias0.fits",
                        "pbk0.fits",
                        "flt1.fits",
                        "bpix1.fits",
                        "msk1.fits",
                        "stat1.fits",
                    )
                ),
            ),
            products=("primary/*.fits.gz",),
        ),
        datalink_id="__row",
        table="chanmaster",
        ivoid="ivo://nasa.heasarc/chanmaster",
        scs="table=chanmaster",  # coneGet.pl?table=chanmaster&
        id_column="obsid",
        id_numeric=True,
        id_regex=r"^[0-9]{1,6}$",
        instruments=("ACIS", "HRC", "HETG", "LETG"),
        default_instruments=("ACIS", "HRC"),
        aliases={"ACIS-I": "ACIS", "ACIS-S": "ACIS", "HRC-I": "HRC", "HRC-S": "HRC"},
        fov={"ACIS": 27.8 / 60, "HRC": 49.5 / 60, "HETG": 27.8 / 60, "LETG": 49.5 / 60},
        frame="icrs",
        start="time",
        duration="exposure",
        columns=(
            "name",
            "status",
            "detector",
            "grating",
            "exposure",
            "type",
            "data_mode",
            "class",
            "public_date",
        ),
        cuts=("status IN ('processed', 'archived')",),
        instrument_column="detector",
        instrument_values={"ACIS": ("ACIS-I", "ACIS-S"), "HRC": ("HRC-I", "HRC-S")},
        instrument_condition=_instrument_condition,
        proprietary_column="public_date",
        target_function=_targets,
        alternatives={"cxc": "chandra_cxc"},
    )
)
