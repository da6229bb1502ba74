"""The ObsCore table as a mission: the standard columns (``s_ra``, ``t_min``, ``obs_publisher_did`` ...) mapped
onto vodaxa's observation table; one spec per service, made by :func:`obscore_spec`."""

from __future__ import annotations

from collections.abc import Sequence

from ...query.adql import literal
from ...specs.registry import MissionSpec, register

__all__ = ["OBSCORE", "obscore_spec"]

#: The ObsCore columns kept in the observation table (the mandatory ones a user filters or resolves on).
COLUMNS = (
    "obs_id", "obs_collection", "dataproduct_type", "calib_level", "target_name", "instrument_name",
    "facility_name", "s_fov", "t_exptime", "em_min", "em_max", "access_url", "access_format", "access_estsize",
)  # fmt: skip


def _any_instrument(chosen: Sequence[str]) -> list[str]:
    """An ObsCore service's instruments are not known in advance: no condition (filter on instrument_name)."""
    return []


def obscore_spec(
    name: str,
    *,
    archive: str,
    collection: str | None = None,
    fov: float = 0.25,
    listed: bool = False,
    replace: bool = False,
) -> MissionSpec:
    """Register and return the mission ``name`` reading ``ivoa.ObsCore`` at ``archive``'s TAP service."""
    cuts: tuple[str, ...] = ("s_ra IS NOT NULL", "s_dec IS NOT NULL")
    if collection is not None:
        cuts += (f"obs_collection = {literal(collection)}",)
    spec = MissionSpec(
        name=name,
        pretty_name=f"ObsCore ({collection or archive})",
        archive=archive,
        table="ivoa.ObsCore",
        id_column="obs_publisher_did",  # unique; obs_id repeats over a dataset's products
        id_regex=r"^\S+$",
        id_upper=False,  # URIs: case matters in their path and query
        instruments=("ANY",),
        default_instruments=("ANY",),
        instrument_condition=_any_instrument,
        fov=fov,
        frame="icrs",
        ra="s_ra",
        dec="s_dec",
        start="t_min",
        end="t_max",
        columns=COLUMNS,
        cuts=cuts,
        target_default="MISC",
        listed=listed,
    )
    return register(spec, replace=replace)


#: GAVO's data centre ObsCore (``vodaxa.mission("obscore")``; not listed, so ``search all`` does not ask it).
OBSCORE = obscore_spec("obscore", archive="obscore")
