"""Swift, from HEASARC's swiftmastr (DAXA's Swift); no proprietary period."""

from ...specs.registry import FileRules, MissionSpec, register

SWIFT = register(
    MissionSpec(
        name="swift",
        pretty_name="Swift",
        archive="heasarc",
        files=FileRules(
            raw=(
                "auxil/*",
                "xrt/event/*_uf.evt.gz",
                "xrt/hk/*",
                "xrt/image/*",
                "uvot/hk/*",
                "uvot/event/*",
                "uvot/image/*",
                "bat/event/*",
                "bat/rate/*",
                "bat/survey/*",
            ),
            products=("xrt/products/*", "uvot/products/*", "xrt/event/*_cl.evt.gz"),
            instruments={"XRT": ("xrt/*",), "UVOT": ("uvot/*",), "BAT": ("bat/*",)},
        ),
        datalink_id="__row",
        table="swiftmastr",
        ivoid="ivo://nasa.heasarc/swiftmastr",
        scs="table=swiftmastr",  # coneGet.pl?table=swiftmastr&
        id_column="obsid",
        id_regex=r"^[0-9]{11}$",
        instruments=("XRT", "BAT", "UVOT"),
        default_instruments=("XRT", "BAT"),
        fov={"XRT": 11.8 / 60, "BAT": 50.0, "UVOT": 8.5 / 60},
        start="start_time",
        end="stop_time",
        columns=("name", "roll_angle", "xrt_exposure", "uvot_exposure", "bat_exposure"),
        cuts=("(xrt_exposure > 0 OR uvot_exposure > 0 OR bat_exposure > 0)",),
        exposure_columns={"XRT": "xrt_exposure", "BAT": "bat_exposure", "UVOT": "uvot_exposure"},
    )
)
