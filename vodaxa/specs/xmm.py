"""XMM-Newton pointed observations: the XSA's TAP table by default, HEASARC's xmmmaster as fallback."""

import pandas as pd

from .registry import FileRules, MissionSpec, register

_COMMON = dict(
    pretty_name="XMM-Newton Pointed",
    id_regex=r"^[0-9]{10}$",
    instruments=("M1", "M2", "PN", "OM", "R1", "R2"),
    default_instruments=("M1", "M2", "PN"),
    aliases={"MOS1": "M1", "MOS2": "M2", "EPN": "PN", "RGS1": "R1", "RGS2": "R2"},
    fov=15 / 60,
)


def _with_science(src: pd.DataFrame) -> pd.Series:
    return src["with_science"].map(lambda v: str(v).strip().lower() in ("true", "1", "t", "y"))


def _in_heasarc(src: pd.DataFrame) -> pd.Series:
    return src["data_in_heasarc"].map(lambda v: str(v).strip() == "Y")


XMM = register(
    MissionSpec(
        name="xmm_pointed",
        archive="xsa",
        table="xsa.v_all_observations",
        ivoid="ivo://esavo/xsa/tap",
        id_column="observation_id",
        start="start_utc",
        time_format="timestamp",
        end="end_utc",
        duration="duration",
        columns=("revolution", "with_science", "duration", "proprietary_end_date", "moving_target"),
        cuts=("ra IS NOT NULL", "dec IS NOT NULL", "NOT (ra = 0 AND dec = 0)"),
        science_usable=_with_science,
        proprietary_column="proprietary_end_date",
        alternatives={"heasarc": "xmm_pointed_heasarc"},
        fallback="xmm_pointed_heasarc",
        **_COMMON,
    )
)

XMM_HEASARC = register(
    MissionSpec(
        name="xmm_pointed_heasarc",
        archive="heasarc",
        table="xmmmaster",
        ivoid="ivo://nasa.heasarc/xmmmaster",
        scs="table=xmmmaster",  # coneGet.pl?table=xmmmaster&
        files=FileRules(
            raw=("ODF/*_{o}_*", "ODF/MANIFEST*"),
            instruments={i: (f"ODF/*_{{o}}_{i}*",) for i in ("M1", "M2", "PN", "OM", "R1", "R2")},
        ),
        datalink_id="__row",
        id_column="obsid",
        start="time",
        end="end_time",
        duration="duration",
        columns=(
            "name",
            "status",
            "duration",
            "public_date",
            "data_in_heasarc",
            "xmm_revolution",
            "subject_category",
        ),
        cuts=("status IN ('processed', 'archived')", "obsid NOT LIKE '9%'", "NOT (ra = 0 AND dec = 0)"),
        proprietary_column="public_date",
        proprietary_sentinels=(0.0, 416422.0),
        proprietary_condition=_in_heasarc,
        listed=False,
        **_COMMON,
    )
)
