"""CDS (Strasbourg): Sesame, which turns object names into positions."""

from .. import Archive, register

ARCHIVE = register(
    Archive(
        name="cds",
        title="CDS Sesame name resolver",
        package=__name__,
        endpoints={"sesame": "https://cds.unistra.fr/cgi-bin/nph-sesame/"},
    )
)
