"""CDS Sesame: object names to positions (SIMBAD, then NED, then VizieR), at the configured endpoint."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import astropy.units as u
import requests
from astropy.coordinates import SkyCoord

from ... import net
from ...config import endpoints
from ...errors import NameResolutionError, ServiceError

__all__ = ["SESAME_HTTP", "sesame"]

_SESAME_J = re.compile(r"^%J\s+([0-9.]+)\s+([-+]?[0-9.]+)", re.MULTILINE)  # "%J ra dec = hh:mm:ss +dd:mm:ss"


#: Sesame answers a name in well under a second: a silent or trickling one is given a minute, not ten.
SESAME_HTTP = net.HttpConfig(read_timeout=20.0, body_timeout=60.0, retries=2)


def sesame(name: str) -> SkyCoord:
    """Resolve an object name with CDS Sesame (SIMBAD, then NED, then VizieR) at the configured endpoint.

    The endpoint is vodaxa's ``cds.sesame`` (the sandbox answers for the targets it knows); no credential is
    sent, and a silent or trickling Sesame is given a minute, not ten (``vodaxa.archives.cds.sesame.SESAME_HTTP``:
    20 s to start answering, 60 s for the whole answer, two retries).

    Parameters
    ----------
    name : str
        The object's name (``"3C 105"``, ``"Coma Cluster"``).

    Returns
    -------
    astropy.coordinates.SkyCoord
        The object's position, ICRS.

    Raises
    ------
    vodaxa.errors.NameResolutionError
        If Sesame does not answer, answers an HTTP error, or does not know the name.

    Examples
    --------
    >>> from vodaxa.query.names import sesame
    >>> position = sesame("3C 105")
    >>> print(f"{position.ra.deg:.4f} {position.dec.deg:.4f}")
    61.8232 3.7099
    """
    url = endpoints.get("cds", "sesame").rstrip("/") + "/SNV?" + quote(name.strip())
    try:
        answer = net.session(SESAME_HTTP, credentials=False).get(url)
    except (requests.RequestException, ServiceError) as err:
        raise NameResolutionError(f"could not resolve '{name}': Sesame at {url} did not answer ({err})") from None
    if answer.status_code != 200:
        raise NameResolutionError(f"could not resolve '{name}': Sesame answered HTTP {answer.status_code}")
    match = _SESAME_J.search(answer.text)
    if match is None:
        local = net.is_loopback(urlsplit(url).hostname)
        hint = (" The Sesame asked is on this machine (vodaxa's sandbox?), which knows only a few targets: "
                "docs/sandbox.md lists them." if local else "")
        raise NameResolutionError(
            f"Sesame does not know '{name}'; check the spelling, or give coordinates (ra, dec in degrees).{hint}"
        )
    return SkyCoord(float(match.group(1)) * u.deg, float(match.group(2)) * u.deg, frame="icrs")
