"""XMM-Newton pointed observations from HEASARC's xmmmaster: the fallback source of ``xmm_pointed`` (the XSA)."""

import pandas as pd

from ...specs.registry import FileRules, MissionSpec, register
from ..xsa.missions import XMM_COMMON


def _in_heasarc(src: pd.DataFrame) -> pd.Series:
    return src["data_in_heasarc"].map(lambda v: str(v).strip() == "Y")


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
        **XMM_COMMON,
    )
)
