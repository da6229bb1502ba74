"""Object names to coordinates: J-names parsed offline, everything else through an injectable resolver
(CDS Sesame by default, at the configured endpoint, so the sandbox answers offline).  An unresolvable
name is an error, never a silent skip.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from urllib.parse import quote

import astropy.units as u
import requests
from astropy.coordinates import SkyCoord

from .. import net
from ..config import endpoints
from ..errors import NameResolutionError, ServiceError

__all__ = ["Resolver", "parse_jname", "resolve_names", "sesame"]

Resolver = Callable[[str], SkyCoord]

# J-names: J HHMMSS(.s) +/- DDMMSS(.s), or the shorter J HHMM(.m) +/- DDMM forms.
_JNAME = re.compile(
    r"J(?P<h>\d{2})(?P<m>\d{2})(?P<s>\d{2}(?:\.\d+)?)?(?P<sign>[+-])(?P<d>\d{2})(?P<dm>\d{2})(?P<ds>\d{2}(?:\.\d+)?)?"
)


_SESAME_J = re.compile(r"^%J\s+([0-9.]+)\s+([-+]?[0-9.]+)", re.MULTILINE)  # "%J ra dec = hh:mm:ss +dd:mm:ss"


#: Sesame answers a name in well under a second: a silent or trickling one is given a minute, not ten.
SESAME_HTTP = net.HttpConfig(read_timeout=20.0, body_timeout=60.0, retries=2)


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


def sesame(name: str) -> SkyCoord:
    """Resolve ``name`` with CDS Sesame (SIMBAD, then NED, then VizieR) at the configured endpoint."""
    url = endpoints.get("cds", "sesame").rstrip("/") + "/SNV?" + quote(name.strip())
    try:
        answer = net.session(SESAME_HTTP, credentials=False).get(url)
    except (requests.RequestException, ServiceError) as err:
        raise NameResolutionError(f"could not resolve '{name}': Sesame at {url} did not answer ({err})") from None
    if answer.status_code != 200:
        raise NameResolutionError(f"could not resolve '{name}': Sesame answered HTTP {answer.status_code}")
    match = _SESAME_J.search(answer.text)
    if match is None:
        raise NameResolutionError(
            f"Sesame does not know '{name}'; check the spelling, or give coordinates (ra, dec in degrees)"
        )
    return SkyCoord(float(match.group(1)) * u.deg, float(match.group(2)) * u.deg, frame="icrs")


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
