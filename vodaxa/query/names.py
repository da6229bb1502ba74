"""Object names to coordinates: J-names parsed offline, everything else through an injectable resolver
(CDS Sesame by default, at the configured endpoint, so the sandbox answers offline).  An unresolvable
name is an error, never a silent skip.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import astropy.units as u
from astropy.coordinates import SkyCoord

from ..archives.cds.sesame import sesame
from ..errors import NameResolutionError

__all__ = ["Resolver", "parse_jname", "resolve_names", "sesame"]

Resolver = Callable[[str], SkyCoord]

# J-names: J HHMMSS(.s) +/- DDMMSS(.s), or the shorter J HHMM(.m) +/- DDMM forms.
_JNAME = re.compile(
    r"J(?P<h>\d{2})(?P<m>\d{2})(?P<s>\d{2}(?:\.\d+)?)?(?P<sign>[+-])(?P<d>\d{2})(?P<dm>\d{2})(?P<ds>\d{2}(?:\.\d+)?)?"
)


def parse_jname(name: str) -> SkyCoord | None:
    """Coordinates embedded in a J-name (e.g. ``CRTS SSS100805 J194428-420209``), or None."""
    match = _JNAME.search(name.replace(" ", ""))
    if not match:
        return None
    g = match.groupdict()
    hours = int(g["h"]) + int(g["m"]) / 60 + float(g["s"] or 0) / 3600
    degrees = int(g["d"]) + int(g["dm"]) / 60 + float(g["ds"] or 0) / 3600
    if hours >= 24 or degrees > 90 or int(g["m"]) >= 60 or int(g["dm"]) >= 60:
        return None
    dec = -degrees if g["sign"] == "-" else degrees
    return SkyCoord(hours * 15.0 * u.deg, dec * u.deg, frame="icrs")


def resolve_names(
    names: str | Sequence[str], *, resolver: Resolver | None = None, parse_name: bool = False
) -> SkyCoord:
    """One SkyCoord (ICRS) per name; ``parse_name`` tries J-name parsing before the resolver."""
    items = [names] if isinstance(names, str) else list(names)
    if not items:
        raise NameResolutionError("no object names were given")
    coords = []
    for name in items:
        coord = parse_jname(name) if parse_name else None
        if coord is None:
            try:
                coord = (resolver or sesame)(name)
            except NameResolutionError:
                raise
            except Exception as err:
                raise NameResolutionError(f"could not resolve '{name}': {err}") from None
        coords.append(coord.icrs)
    return SkyCoord([c.ra for c in coords], [c.dec for c in coords], frame="icrs")
