"""ESA's XMM-Newton Science Archive: TAP (``xsa.v_all_observations``) and the AIO servlet's tarballs, with
per-request credentials (AIOUSER/AIOPWD) for proprietary data."""

from .. import Archive, register

ARCHIVE = register(
    Archive(
        name="xsa",
        title="XMM-Newton Science Archive (ESA)",
        package=__name__,
        endpoints={
            "tap": "https://nxsa.esac.esa.int/tap-server/tap",
            "aio": "https://nxsa.esac.esa.int/nxsa-sl/servlet/data-action-aio",
        },
        missions=(".missions",),
        resolver=".resolver:resolve",
        max_connections=10,  # the AIO servlet is a shared, slow service
        credentials="query",
        login=".login:aio_params",
        realm_services=("aio",),
    )
)
