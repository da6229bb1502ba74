"""Swift, from HEASARC's swiftmastr (DAXA's Swift); no proprietary period."""

from .registry import MissionSpec, register

SWIFT = register(
    MissionSpec(
        name="swift",
        pretty_name="Swift",
        archive="heasarc",
        table="swiftmastr",
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
