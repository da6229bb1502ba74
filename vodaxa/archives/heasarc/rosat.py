"""ROSAT pointed (rosmaster) and all-sky survey (rassmaster) observations, from HEASARC."""

import pandas as pd

from ...specs.registry import FileRules, MissionSpec, register

_SUBJECTS = {
    "1": "STR",
    "2": "CV",
    "3": "XRB",
    "4": "SNR",
    "5": "NGS",
    "6": "AGN",
    "7": "GCL",
    "8": "EGS",
    "9": "SOL",
    "10": "MISC",
}


def _targets(src: pd.DataFrame) -> pd.Series:
    return src["subj_cat"].map(lambda v: _SUBJECTS.get(str(v).strip(), "MISC"))


def _usable(src: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(src["exposure"], errors="coerce") > 0


ROSAT_POINTED = register(
    MissionSpec(
        name="rosat_pointed",
        pretty_name="ROSAT Pointed",
        archive="heasarc",
        files=FileRules(
            raw=("{ol}_anc.fits.Z", "{ol}_bas.fits.Z", "{ol}.fits.Z"),
            products=("{ol}_bk*.fits.Z", "{ol}_im*.fits.Z", "{ol}_mex.fits.Z"),
        ),
        datalink_id="__row",
        table="rosmaster",
        ivoid="ivo://nasa.heasarc/rosmaster",
        scs="table=rosmaster",  # coneGet.pl?table=rosmaster&
        id_column="seq_id",
        id_regex=r"^(RH|rh|RP|rp|RF|rf|WH|wh|WP|wp|WF|wf)\d{6}([A-Z]\d{2}|)$",
        instruments=("PSPCB", "PSPCC", "HRI"),
        default_instruments=("PSPCB", "PSPCC", "HRI"),
        fov={"PSPCB": 1.0, "PSPCC": 1.0, "HRI": 19 / 60},
        start="start_time",
        end="end_time",
        duration="exposure",
        columns=("name", "exposure", "fits_type", "instrument", "filter", "proc_rev", "subj_cat", "site"),
        instrument_column="instrument",
        instrument_values={"PSPCB": ("PSPCB", "PSPC"), "PSPCC": ("PSPCC",), "HRI": ("HRI",)},  # PSPC is PSPCB
        science_usable=_usable,
        target_function=_targets,
    )
)

ROSAT_ALL_SKY = register(
    MissionSpec(
        name="rosat_all_sky",
        pretty_name="ROSAT All-Sky Survey",
        archive="heasarc",
        files=FileRules(
            raw=("{ol}_anc.fits.Z", "{ol}_bas.fits.Z"),
            products=("{ol}_bk*.fits.Z", "{ol}_im*.fits.Z", "{ol}_mex.fits.Z"),
        ),
        datalink_id="__row",
        table="rassmaster",
        ivoid="ivo://nasa.heasarc/rassmaster",
        scs="table=rassmaster",  # coneGet.pl?table=rassmaster&
        id_column="seq_id",
        id_regex=r"^(RS|rs)\d{6}[A-Z]\d{2}$",
        instruments=("PSPC",),
        default_instruments=("PSPC",),
        fov=3.0,
        start="start_date",
        end="end_date",
        duration="exposure",
        columns=("exposure",),
        target_default="ASK",
    )
)
