"""INTEGRAL pointed science windows, from HEASARC's intscwpub (DAXA's INTEGRALPointed).

Science-window IDs play the part of ObsIDs.  PICsIT is selectable in any case (DAXA's bug fixed).
"""

from ...specs.registry import FileRules, MissionSpec, register

INTEGRAL = register(
    MissionSpec(
        name="integral_pointed",
        pretty_name="INTEGRAL Pointed",
        archive="heasarc",
        files=FileRules(
            raw=(
                "{o}_scw.txt",
                "sc_*",
                "swg.fits",
                "swg_*",
                "*jmx1*",
                "*jmx2*",
                "*isgri*",
                "*ibis*",
                "*compton*",
                "*picsit*",
                "*spi*",
            ),
            instruments={
                "JEMX1": ("*jmx1*",),
                "JEMX2": ("*jmx2*",),
                "ISGRI": ("*isgri*",),
                "PICsIT": ("*picsit*",),
                "SPI": ("*spi*",),
            },
        ),
        datalink_id="__row",
        table="intscwpub",
        ivoid="ivo://nasa.heasarc/intscwpub",
        scs="table=intscwpub",  # coneGet.pl?table=intscwpub&
        id_column="scw_id",
        id_regex=r"^[0-9]{12}$",
        instruments=("JEMX1", "JEMX2", "ISGRI", "PICsIT", "SPI"),
        default_instruments=("JEMX1", "JEMX2", "ISGRI"),
        fov={"JEMX1": 2.4, "JEMX2": 2.4, "ISGRI": 4.15, "PICsIT": 4.15, "SPI": 7.0},
        start="start_date",
        end="end_date",
        columns=(
            "scw_ver",
            "scw_type",
            "spi_mode",
            "good_jemx1",
            "good_jemx2",
            "good_isgri",
            "good_picsit",
            "good_spi",
            "data_in_heasarc",
        ),
        cuts=(
            "(good_jemx1 > 0 OR good_jemx2 > 0 OR good_isgri > 0 OR good_picsit > 0 OR good_spi > 0)",
            "data_in_heasarc = 'Y'",
        ),
        exposure_columns={
            "JEMX1": "good_jemx1",
            "JEMX2": "good_jemx2",
            "ISGRI": "good_isgri",
            "PICsIT": "good_picsit",
            "SPI": "good_spi",
        },
        target_default="MISC",
    )
)
