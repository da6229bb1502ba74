"""The IVOA registry, asked through RegTAP (pyvo's default, GAVO's), to find archives' services."""

from .. import Archive, register

ARCHIVE = register(
    Archive(
        name="registry",
        title="IVOA registry (RegTAP)",
        package=__name__,
        endpoints={"tap": "http://reg.g-vo.org/tap"},
    )
)
