"""Suzaku XIS, from HEASARC's suzamaster (DAXA's Suzaku)."""

import pandas as pd

from ...specs.registry import FileRules, MissionSpec, register

_CODES = {0: "MISC", 1: "CAL", 4: "GS", 5: "GS", 7: "EGS", 8: "GCL", 9: "TOO"}


def _targets(src: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(src["category_code"], errors="coerce").map(lambda v: _CODES.get(v, "MISC"))


SUZAKU = register(
    MissionSpec(
        name="suzaku",
        pretty_name="Suzaku",
        archive="heasarc",
        files=FileRules(
            raw=("auxil/*", "xis/event_uf/*", "xis/hk/*", "xis/products/*"),
            products=("xis/event_cl/*",),
            instruments={f"XIS{k}": (f"xis/*/ae{{o}}xi{k}_*",) for k in range(4)},
        ),
        datalink_id="__row",
        table="suzamaster",
        ivoid="ivo://nasa.heasarc/suzamaster",
        scs="table=suzamaster",  # coneGet.pl?table=suzamaster&
        id_column="obsid",
        id_regex=r"^[0-9]{9}$",
        instruments=("XIS0", "XIS1", "XIS2", "XIS3"),
        default_instruments=("XIS0", "XIS1", "XIS2", "XIS3"),
        aliases={"X0": "XIS0", "X1": "XIS1", "X2": "XIS2", "X3": "XIS3"},
        fov=9.5 / 60,
        start="time",
        end="stop_time",
        columns=(
            "name",
            "category_code",
            "status",
            *(f"xis{k}_expo" for k in range(4)),
            *(f"xis{k}_num_modes" for k in range(4)),
        ),
        cuts=("(xis0_expo > 0 OR xis1_expo > 0 OR xis2_expo > 0 OR xis3_expo > 0)",),
        exposure_columns={f"XIS{k}": f"xis{k}_expo" for k in range(4)},
        target_function=_targets,
    )
)
