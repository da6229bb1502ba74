"""XMM-Newton pointed observations from the XSA's TAP table (HEASARC's xmmmaster is the fallback source)."""

from collections.abc import Mapping
from typing import TypedDict

import pandas as pd

from ...specs.registry import MissionSpec, register


class _XmmCommon(TypedDict):
    """The :class:`MissionSpec` fields every XMM-Newton spec shares."""

    pretty_name: str
    id_regex: str
    instruments: tuple[str, ...]
    default_instruments: tuple[str, ...]
    aliases: Mapping[str, str]
    fov: float


#: What XMM-Newton is, whichever archive serves its table (HEASARC's xmmmaster spec uses it too).
XMM_COMMON = _XmmCommon(
    pretty_name="XMM-Newton Pointed",
    id_regex=r"^[0-9]{10}$",
    instruments=("M1", "M2", "PN", "OM", "R1", "R2"),
    default_instruments=("M1", "M2", "PN"),
    aliases={"MOS1": "M1", "MOS2": "M2", "EPN": "PN", "RGS1": "R1", "RGS2": "R2"},
    fov=15 / 60,
)


def _with_science(src: pd.DataFrame) -> pd.Series:
    return src["with_science"].map(lambda v: str(v).strip().lower() in ("true", "1", "t", "y"))


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
        **XMM_COMMON,
    )
)
