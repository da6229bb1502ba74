"""ESO: raw frames from tap_obs ``dbo.raw`` (``eso``) and Phase 3 products from ``ivoa.ObsCore`` (``eso_products``)."""

import pandas as pd

from ...specs.registry import MissionSpec, register

#: Instrument -> field-of-view half-width (deg); for slit and fibre spectrographs the acquisition field.
FOV = {
    "FORS2": 3.4 / 60,
    "MUSE": 0.5 / 60,
    "HAWKI": 3.75 / 60,
    "UVES": 0.25 / 60,
    "XSHOOTER": 0.2 / 60,
    "SPHERE": 0.1 / 60,
    "SINFONI": 0.05 / 60,
    "VIRCAM": 0.8,
    "OMEGACAM": 0.5,
    "KMOS": 3.6 / 60,
    "NACO": 0.25 / 60,
    "VISIR": 0.5 / 60,
    "GIRAFFE": 12.5 / 60,
    "ESPRESSO": 0.1 / 60,
    "HARPS": 0.1 / 60,
    "EFOSC": 2.05 / 60,
    "SOFI": 2.45 / 60,
    "CRIRES": 0.1 / 60,
    "ERIS": 0.1 / 60,
}
_INSTRUMENTS = tuple(FOV)


def _science(src: pd.DataFrame) -> pd.Series:
    return src["dp_cat"].map(lambda v: str(v).strip().upper() == "SCIENCE")


ESO_RAW = register(
    MissionSpec(
        name="eso",
        pretty_name="ESO raw frames",
        archive="eso",
        service="tap_obs",
        table="dbo.raw",
        ivoid="ivo://eso.org/tap_obs",
        id_column="dp_id",
        id_regex=r"^[A-Z0-9_]+\.\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$",
        instruments=_INSTRUMENTS,
        default_instruments=_INSTRUMENTS,
        fov=FOV,
        frame="icrs",
        start="mjd_obs",
        duration="exposure",
        columns=(
            "object",
            "target",
            "instrument",
            "telescope",
            "dp_cat",
            "dp_type",
            "dp_tech",
            "exposure",
            "exp_start",
            "release_date",
            "prog_id",
            "ob_id",
            "access_url",
            "datalink_url",
            "access_estsize",
        ),
        instrument_column="instrument",
        science_usable=_science,
        proprietary_column="release_date",
        alternatives={"products": "eso_products"},
    )
)

ESO_PRODUCTS = register(
    MissionSpec(
        name="eso_products",
        pretty_name="ESO Phase 3 products",
        archive="eso",
        service="tap_obs",
        table="ivoa.ObsCore",
        ivoid="ivo://eso.org/tap_obs",
        id_column="dp_id",
        id_regex=r"^ADP\.\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$",
        instruments=_INSTRUMENTS,
        default_instruments=_INSTRUMENTS,
        fov=FOV,
        frame="icrs",
        ra="s_ra",
        dec="s_dec",
        start="t_min",
        end="t_max",
        columns=(
            "obs_publisher_did",
            "obs_collection",
            "instrument_name",
            "dataproduct_type",
            "calib_level",
            "target_name",
            "s_fov",
            "t_exptime",
            "em_min",
            "em_max",
            "obs_release_date",
            "access_url",
            "access_format",
            "access_estsize",
        ),
        instrument_column="instrument_name",
        proprietary_column="obs_release_date",
    )
)
