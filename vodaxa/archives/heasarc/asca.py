"""ASCA GIS and SIS, from HEASARC's ascamaster (DAXA's ASCA)."""

import pandas as pd

from ...specs.registry import FileRules, MissionSpec, register

_CATEGORIES = {
    "1": "STR",
    "2": "CV",
    "3": "XRB",
    "4": "SNR",
    "5": "NGS",
    "6": "AGN",
    "7": "GCL",
    "8": "EGS",
    "9": "MISC",
}


def _targets(src: pd.DataFrame) -> pd.Series:
    return src["subject_category"].map(lambda v: _CATEGORIES.get(str(v).strip()[:1], "MISC"))


ASCA = register(
    MissionSpec(
        name="asca",
        pretty_name="ASCA",
        archive="heasarc",
        files=FileRules(
            raw=("aux/*", "calib/*", "telem/*", "unscreened/*"),
            products=("images/*", "spectra/*", "lcurves/*", "screened/*"),
            instruments={
                "SIS0": ("*/ad{o}s0*",),
                "SIS1": ("*/ad{o}s1*",),
                "GIS2": ("*/ad{o}g2*",),
                "GIS3": ("*/ad{o}g3*",),
            },
        ),
        datalink_id="__row",
        table="ascamaster",
        ivoid="ivo://nasa.heasarc/ascamaster",
        scs="table=ascamaster",  # coneGet.pl?table=ascamaster&
        id_column="sequence_number",
        id_regex=r"^[0-9]{8}$",
        instruments=("SIS0", "SIS1", "GIS2", "GIS3"),
        default_instruments=("SIS0", "SIS1", "GIS2", "GIS3"),
        aliases={"S0": "SIS0", "S1": "SIS1", "G2": "GIS2", "G3": "GIS3"},
        fov={"SIS0": 11 / 60, "SIS1": 11 / 60, "GIS2": 25 / 60, "GIS3": 25 / 60},
        start="time",
        end="end_time",
        columns=("name", "subject_category", "status", "gis_exposure", "sis_exposure"),
        cuts=("(gis_exposure > 0 OR sis_exposure > 0)",),
        exposure_columns={
            "SIS0": "sis_exposure",
            "SIS1": "sis_exposure",
            "GIS2": "gis_exposure",
            "GIS3": "gis_exposure",
        },
        target_function=_targets,
    )
)
