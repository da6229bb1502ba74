"""eROSITA Cal-PV (EDR) and eRASS1-DE (DR1): no TAP service, so their public tables are fetched whole
(vodaxa.archives.erosita.tables, cached) and filtered locally with the same filter semantics.  The tables
module (HTTP, HTML and FITS parsing) is imported only when a table is first fetched.
"""

import pandas as pd

from ...specs.registry import MissionSpec, register

_TMS = tuple(f"TM{k}" for k in range(1, 8))
_FIELD_TYPES = {"SURVEY": "ASK", "GALACTIC_FIELDS": "GS", "EXTRAGALACTIC_FIELDS": "EGS", "MAGELLANIC_CLOUDS": "NGS"}


def _calpv_targets(src: pd.DataFrame) -> pd.Series:
    return src["field_type"].map(lambda v: _FIELD_TYPES.get(str(v), "MISC"))


def _calpv_table() -> pd.DataFrame:
    from .tables import calpv_observations

    return calpv_observations()


def _dr1_table() -> pd.DataFrame:
    from .tables import dr1_tiles

    return dr1_tiles()


def _usable(src: pd.DataFrame) -> pd.Series:
    return src["science_usable"].astype(bool)


EROSITA_CALPV = register(
    MissionSpec(
        name="erosita_calpv",
        pretty_name="eROSITA Cal-PV",
        archive="erosita",
        service="calpv_table",
        table="calpv",
        id_column="ObsID",
        id_regex=r"^[0-9]{6}$",
        instruments=_TMS,
        default_instruments=_TMS,
        fov=4.5,  # DAXA's (admittedly rough) half-width for the Cal-PV fields
        start="start",
        end="end",
        time_format="timestamp",
        columns=("field_name", "field_type", "obs_mode", "download", "active_insts"),
        science_usable=_usable,
        target_function=_calpv_targets,
        loader=_calpv_table,
    )
)

EROSITA_DR1 = register(
    MissionSpec(
        name="erosita_all_sky_de_dr1",
        pretty_name="eROSITA All-Sky Survey DE DR1",
        archive="erosita",
        service="dr1_tiles",
        table="dr1_tiles",
        id_column="ObsID",
        id_regex=r"^[0-9]{6}$",
        instruments=_TMS,
        default_instruments=_TMS,
        fov=1.8,
        start="start",
        end="end",
        time_format="timestamp",
        columns=("owner", "ra_min", "ra_max", "dec_min", "dec_max", "glon", "glat", "neigh_obs"),
        science_usable=_usable,
        target_default="ASK",
        loader=_dr1_table,
    )
)
