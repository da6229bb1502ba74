"""eROSITA (MPE): no TAP service; the Cal-PV observations page and the DR1 sky-tile definitions are fetched
whole and filtered locally, and the files come from directory listings."""

from .. import Archive, register

ARCHIVE = register(
    Archive(
        name="erosita",
        title="eROSITA (MPE)",
        package=__name__,
        endpoints={
            "calpv": "https://erosita.mpe.mpg.de/edr/eROSITAObservations/CalPvObs/",
            "dr1": "https://erosita.mpe.mpg.de/dr1/erodat/data/download/",
            # the EDR observations page (an HTML table of Cal-PV fields, ObsIDs, positions, tarballs)
            "calpv_table": "https://erosita.mpe.mpg.de/edr/eROSITAObservations/",
            # the eRASS1-DE sky-tile definitions (FITS, extension SMAPS), linked from the DR1 pages
            "dr1_tiles": (
                "https://erosita.mpe.mpg.de/dr1/eSASS4DR1/eSASS4DR1_ProductsDescription/SKYMAPS_052022_MPE.fits"
            ),
        },
        missions=(".missions",),
        resolver=".resolver:resolve",
        max_connections=4,  # MPE serves large tarballs from one host; be gentle
    )
)
