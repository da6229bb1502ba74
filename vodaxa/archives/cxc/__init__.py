"""The Chandra X-ray Center: CDA TAP and cone search, and the cdaftp ``byobsid/`` tree read by CIAO file type."""

from .. import Archive, register

ARCHIVE = register(
    Archive(
        name="cxc",
        title="Chandra X-ray Center (CDA)",
        package=__name__,
        endpoints={
            "tap": "https://cda.cfa.harvard.edu/cxctap",
            "cdaftp": "https://cxc.cfa.harvard.edu/cdaftp/",
            "scs": "https://cda.cfa.harvard.edu/cxcscs/coneSearch",  # cone search of CDA observations
        },
        missions=(".missions",),
        resolver=".resolver:resolve",
        resolve_options=frozenset({"filetypes", "exclude", "mirror"}),
        max_connections=8,  # CDA: polite default for file downloads
    )
)
