"""Chandra from the CXC's own TAP service (``cxc.observation``): the alternative source of ``chandra``."""

from collections.abc import Sequence

from ...query.adql import in_list
from ...specs.registry import MissionSpec, register
from ..heasarc.chandra import CHANDRA


def _cxc_instrument_condition(chosen: Sequence[str]) -> list[str]:
    detectors = [d for inst in chosen if inst in ("ACIS", "HRC") for d in (f"{inst}-I", f"{inst}-S")]
    gratings = [g for g in chosen if g in ("HETG", "LETG")] or ["NONE"]
    return [in_list("instrument", detectors), in_list("grating", gratings)]


CHANDRA_CXC = register(
    MissionSpec(
        name="chandra_cxc",
        pretty_name="Chandra (CXC)",
        archive="cxc",
        table="cxc.observation",
        ivoid="ivo://cxc.harvard.edu/cda",
        scs="",  # the CDA cone search URL itself
        id_column="obsid",
        id_numeric=True,
        id_regex=r"^[0-9]{1,6}$",
        instruments=CHANDRA.instruments,
        default_instruments=CHANDRA.default_instruments,
        aliases=CHANDRA.aliases,
        fov=CHANDRA.fov,
        frame="icrs",
        start="start_date",
        time_format="timestamp",
        duration="exposure_time",
        duration_unit=1000.0,  # kiloseconds
        columns=(
            "target_name",
            "instrument",
            "grating",
            "status",
            "exposure_time",
            "exposure_mode",
            "proposal_number",
            "public_avail_date",
            "sequence_num",
        ),
        cuts=("status = 'archived'",),
        instrument_column="instrument",
        instrument_values={"ACIS": ("ACIS-I", "ACIS-S"), "HRC": ("HRC-I", "HRC-S")},
        instrument_condition=_cxc_instrument_condition,
        proprietary_column="public_avail_date",
        listed=False,
    )
)
