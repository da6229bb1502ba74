"""XRISM pointed observations, from HEASARC's xrismmastr (DAXA's XRISMPointed)."""

from ...specs.registry import FileRules, MissionSpec, register

XRISM = register(
    MissionSpec(
        name="xrism_pointed",
        pretty_name="XRISM Pointed",
        archive="heasarc",
        files=FileRules(
            raw=("auxil/*", "*/event_uf/*", "*/hk/*", "*/products/*"),
            products=("*/event_cl/*",),
            instruments={"RESOLVE": ("resolve/*",), "XTEND": ("xtend/*",)},
        ),
        datalink_id="__row",
        table="xrismmastr",
        ivoid="ivo://nasa.heasarc/xrismmastr",
        scs="table=xrismmastr",  # coneGet.pl?table=xrismmastr&
        id_column="obsid",
        id_regex=r"^[0-9]{9}$",
        instruments=("RESOLVE", "XTEND"),
        default_instruments=("RESOLVE", "XTEND"),
        fov={"RESOLVE": 1.5 / 60, "XTEND": 19 / 60},
        start="time",
        end="end_time",
        duration="duration",
        columns=(
            "name",
            "duration",
            "exposure",
            "xtd_expo",
            "subject_category",
            "rsl_datamode",
            "xtd_datamode1",
            "xtd_datamode2",
            "xtd_dataclas1",
            "xtd_dataclas2",
            "public_date",
            "status",
        ),
        cuts=("exposure > 0",),
        proprietary_column="public_date",
        proprietary_sentinels=(0.0, 88068.0),
        target_column="subject_category",
        target_map={"GAL": "NGS", "AGN": "AGN", "CLU": "GCL", "SNR": "SNR", "STR": "STR", "XRB": "XRB"},
    )
)
