"""ESO: tap_obs (raw frames in ``dbo.raw``, Phase 3 products in ``ivoa.ObsCore``), DataLink, calSelector
calibration cascades, and the dataportal, with OIDC tokens for proprietary data."""

from .. import Archive, register

ARCHIVE = register(
    Archive(
        name="eso",
        title="European Southern Observatory",
        package=__name__,
        endpoints={
            "tap_obs": "https://archive.eso.org/tap_obs",
            "datalink": "https://archive.eso.org/datalink/links",
            "calselector": "https://archive.eso.org/calselector/v1/associations",
            "token": "https://www.eso.org/sso/oidc/token",
            "dataportal": "https://dataportal.eso.org/dataPortal/file/",
        },
        missions=(".missions",),
        resolver=".resolver:resolve",
        resolve_options=frozenset({"calibrations"}),
        max_connections=8,  # the dataportal throttles heavy parallel use
        credentials="token",
        login=".login:EsoToken",
        realm_services=("tap_obs", "datalink", "calselector", "dataportal"),  # never the token endpoint
    )
)
