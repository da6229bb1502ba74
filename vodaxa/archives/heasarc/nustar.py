"""NuSTAR pointed observations, from HEASARC's numaster (DAXA's NuSTARPointed)."""

from ...specs.registry import FileRules, MissionSpec, register

NUSTAR = register(
    MissionSpec(
        name="nustar_pointed",
        pretty_name="NuSTAR Pointed",
        archive="heasarc",
        files=FileRules(
            raw=("nu{o}.cat.gz", "auxil/*", "event_uf/*", "hk/*"),
            products=("event_cl/*",),
            instruments={"FPMA": ("*/nu{o}A*",), "FPMB": ("*/nu{o}B*",)},
        ),
        datalink_id="__row",
        table="numaster",
        ivoid="ivo://nasa.heasarc/numaster",
        scs="table=numaster",  # coneGet.pl?table=numaster&
        id_column="obsid",
        id_regex=r"^[0-9]{11}$",
        instruments=("FPMA", "FPMB"),
        default_instruments=("FPMA", "FPMB"),
        aliases={"FA": "FPMA", "FB": "FPMB"},
        fov=6.5 / 60,
        start="time",
        end="end_time",
        columns=(
            "name",
            "exposure_a",
            "exposure_b",
            "ontime_a",
            "ontime_b",
            "observation_mode",
            "instrument_mode",
            "spacecraft_mode",
            "status",
            "public_date",
            "issue_flag",
            "nupsdout",
            "subject_category",
            "obs_type",
        ),
        cuts=(
            "observation_mode = 'SCIENCE'",
            "spacecraft_mode = 'INERTIAL'",
            "status IN ('processed', 'archived')",
            "(ontime_a > 0 OR ontime_b > 0)",
        ),
        exposure_columns={"FPMA": "ontime_a", "FPMB": "ontime_b"},
        proprietary_column="public_date",
        target_column="subject_category",
        target_map={
            "AGN": "AGN",
            "GALAXY CLUSTERS": "GCL",
            "X-RAY BINARIES": "XRB",
            "SUPERNOVA REMNANTS": "SNR",
            "STARS": "STR",
            "NORMAL GALAXIES": "NGS",
            "NON-ACTIVE GALAXIES": "NGS",
            "SOLAR SYSTEM": "SOL",
            "GALACTIC COMPACT": "XRB",
            "CALIBRATION": "CAL",
            "SURVEY": "EGS",
        },
    )
)
