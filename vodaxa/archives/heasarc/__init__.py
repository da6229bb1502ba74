"""HEASARC (NASA): Xamin TAP, DataLink into observation directory trees, the FTP/HTTPS tree, TarServlet, S3 and
cone search; the home of most DAXA missions (and of Chandra and XMM-Newton as second sources)."""

from .. import Archive, register

ARCHIVE = register(
    Archive(
        name="heasarc",
        title="HEASARC (NASA)",
        package=__name__,
        endpoints={
            "tap": "https://heasarc.gsfc.nasa.gov/xamin/vo/tap",
            "datalink": "https://heasarc.gsfc.nasa.gov/xamin/vo/datalink",
            "ftp": "https://heasarc.gsfc.nasa.gov/FTP/",
            "tar": "https://heasarc.gsfc.nasa.gov/xamin/TarServlet",
            "s3": "https://nasa-heasarc.s3.amazonaws.com/",
            # Simple Cone Search: a mission's table goes in the query string, coneGet.pl?table=numaster&
            "scs": "https://heasarc.gsfc.nasa.gov/cgi-bin/vo/cone/coneGet.pl",
        },
        missions=(".xmm", ".nustar", ".chandra", ".swift", ".suzaku", ".asca", ".integral", ".rosat", ".xrism"),
        resolver=".resolver:resolve",
        resolve_options=frozenset({"semantics", "filetypes", "exclude", "mirror"}),
        datalink_terms=".terms:core_term",  # its products.jsp#<mission>.obs links are the data (#this)
        max_connections=16,  # polite default for HEASARC file downloads
    )
)
