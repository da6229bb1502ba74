"""The sandbox's registry shape: a RegTAP service (:mod:`.protocols.regtap`) describing the archives it runs.

One resource per HEASARC table (``ivo://nasa.heasarc/<table>``: cone search, TAP as ``tap#aux``, DataLink),
the HEASARC TAP service itself (``ivo://nasa.heasarc/services/xamin``), the CDA (``ivo://cxc.harvard.edu/cda``:
TAP and cone search), ESO's ``ivo://eso.org/tap_obs`` (TAP, DataLink) and the XSA (``ivo://esavo/xsa/tap``,
an identifier the reference notes do not confirm).  Only archives the sandbox runs are listed.
"""

from __future__ import annotations

from collections.abc import Iterable

from .archives.cxc.shape import COLUMNS as CXC_COLUMNS
from .archives.cxc.shape import SCS_PATH as CXC_SCS_PATH
from .archives.heasarc.shape import SCS_PATH as HEASARC_SCS_PATH
from .archives.heasarc.tables import TABLES
from .protocols.regtap import CONE, DATALINK, TAP, TAP_AUX, RegistryArchive, Resource
from .settings import ShapeContext
from .shapes import SHAPES

__all__ = ["create", "resources"]


def _heasarc(name: str) -> Resource:
    spec = TABLES[name]
    return Resource(
        ivoid=f"ivo://nasa.heasarc/{name}",
        archive="heasarc",
        short_name=name,
        title=spec.description,
        description=(
            f"{spec.description}: one row per observation, with its position, times, exposure and status, "
            "as kept by NASA's High Energy Astrophysics Science Archive Research Center (HEASARC)."
        ),
        subjects=("X-ray astronomy", "Observation log"),
        waveband="x-ray",
        publisher="NASA/GSFC HEASARC",
        capabilities=(
            (CONE, f"{HEASARC_SCS_PATH}?table={name}&", f"Cone search of {name}"),
            (TAP_AUX, "/xamin/vo/tap", "HEASARC's TAP service (Xamin), which holds this table"),
            (DATALINK, f"/xamin/vo/datalink/{name}", f"Data links of {name} rows (by __row)"),
        ),
        tables=((name, spec.description, spec.columns),),
        reference_url=f"https://heasarc.gsfc.nasa.gov/W3Browse/all/{name}.html",
        details=((0, "/capability/maxSR", "180"), (0, "/capability/verbosity", "true")),
    )


def resources(archives: Iterable[str]) -> list[Resource]:
    """The records describing ``archives`` (those with VO services: HEASARC, CXC, ESO, XSA)."""
    running = set(archives)
    out: list[Resource] = []
    if "heasarc" in running:
        out += [_heasarc(name) for name in TABLES]
        out.append(
            Resource(
                "ivo://nasa.heasarc/services/xamin",
                "heasarc",
                "Xamin TAP",
                "HEASARC Xamin TAP service",
                "Table access (TAP/ADQL) to every HEASARC catalog and mission observation table.",
                ("X-ray astronomy", "Gamma-ray astronomy"),
                "x-ray#gamma-ray",
                "NASA/GSFC HEASARC",
                ((TAP, "/xamin/vo/tap", "HEASARC TAP"),),
                tuple((n, s.description, s.columns) for n, s in TABLES.items()),
                "https://heasarc.gsfc.nasa.gov/xamin/",
            )
        )
    if "cxc" in running:
        out.append(
            Resource(
                "ivo://cxc.harvard.edu/cda",
                "cxc",
                "CDA",
                "Chandra Data Archive observations",
                "Chandra X-ray Observatory observations (cxc.observation): every ObsID with its position, "
                "instrument, grating, exposure, status and release date, by TAP and by cone search.",
                ("X-ray astronomy", "Chandra X-ray Observatory"),
                "x-ray",
                "Chandra X-ray Center",
                ((TAP, "/cxctap", "CDA observation TAP"), (CONE, CXC_SCS_PATH, "CDA observation cone search")),
                (("cxc.observation", "Chandra observations", CXC_COLUMNS),),
                "https://cda.cfa.harvard.edu/cxctap",
            )
        )
    if "eso" in running:
        out.append(
            Resource(
                "ivo://eso.org/tap_obs",
                "eso",
                "ESO TAP_OBS",
                "ESO Science Archive TAP service (tap_obs)",
                "Observations and science products of the European Southern Observatory (ObsCore, raw frames).",
                ("Optical astronomy", "Infrared astronomy"),
                "optical#infrared",
                "European Southern Observatory",
                ((TAP, "/tap_obs", "ESO tap_obs"), (DATALINK, "/datalink/links", "ESO DataLink")),
                reference_url="https://archive.eso.org/programmatic/",
            )
        )
    if "xsa" in running:
        out.append(
            Resource(
                "ivo://esavo/xsa/tap",
                "xsa",
                "XSA TAP",
                "XMM-Newton Science Archive TAP service",
                "XMM-Newton observations and products of ESA's XMM-Newton Science Archive (XSA).",
                ("X-ray astronomy", "XMM-Newton"),
                "x-ray#optical#uv",
                "ESA/ESAC",
                ((TAP, "/tap-server/tap", "XSA TAP"),),
                reference_url="https://nxsa.esac.esa.int/nxsa-web/",
            )
        )
    return out


def create(context: ShapeContext) -> RegistryArchive:
    """The registry shape for a sandbox (``shapes.SHAPES`` entry point)."""
    return RegistryArchive(context, resources(context.config.archives or tuple(SHAPES)))
