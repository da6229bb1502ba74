"""Object names to coordinates: J-names parsed offline, everything else through an injectable resolver
(CDS Sesame by default, at the configured endpoint, so the sandbox answers offline).  An unresolvable
name is an error, never a silent skip.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeAlias

import astropy.units as u
from astropy.coordinates import SkyCoord

from ..archives.cds.sesame import sesame
from ..errors import NameResolutionError

__all__ = ["Resolver", "parse_jname", "resolve_names", "sesame"]

#: An object-name resolver: a function taking a name and returning its position, or raising
#: :class:`~vodaxa.errors.NameResolutionError`; :func:`sesame` is the default.
Resolver: TypeAlias = "Callable[[str], SkyCoord]"

# J-names: J HHMMSS(.s) +/- DDMMSS(.s), or the shorter J HHMM(.m) +/- DDMM forms.
_JNAME = re.compile(
    r"J(?P<h>\d{2})(?P<m>\d{2})(?P<s>\d{2}(?:\.\d+)?)?(?P<sign>[+-])(?P<d>\d{2})(?P<dm>\d{2})(?P<ds>\d{2}(?:\.\d+)?)?"
)


def parse_jname(name: str) -> SkyCoord | None:
    """Read the coordinates embedded in a J-name (e.g. ``CRTS SSS100805 J194428-420209``), offline.

    Both ``J HHMMSS(.s) +/-DDMMSS(.s)`` and the shorter ``J HHMM(.m) +/-DDMM`` forms are read, anywhere in the
    name, spaces ignored.

    Parameters
    ----------
    name : str
        An object name.

    Returns
    -------
    astropy.coordinates.SkyCoord or None
        The position, ICRS; None when the name holds no J-name, or one out of range.

    Examples
    --------
    >>> from vodaxa.query.names import parse_jname
    >>> position = parse_jname("CRTS SSS100805 J194428-420209")
    >>> print(f"{position.ra.deg:.4f} {position.dec.deg:.4f}")
    296.1167 -42.0358
    >>> parse_jname("3C 105") is None
    True
    """
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
    """Resolve object names to positions: one SkyCoord (ICRS) per name.

    An unresolvable name is an error, never a silent skip.

    Parameters
    ----------
    names : str or sequence of str
        One object name, or several.
    resolver : callable, optional
        A `Resolver`: a function from a name to its SkyCoord (default: :func:`sesame`, CDS Sesame at vodaxa's
        ``cds.sesame`` endpoint).
    parse_name : bool, optional
        Read J-names (:func:`parse_jname`) before asking the resolver (False by default).

    Returns
    -------
    astropy.coordinates.SkyCoord
        An array of positions, ICRS, one per name in order (one element for a single name).

    Raises
    ------
    vodaxa.errors.NameResolutionError
        If no name is given, or a name cannot be resolved (whatever the resolver raised is said in the message).

    Examples
    --------
    >>> from vodaxa.query.names import resolve_names
    >>> positions = resolve_names(["3C 105", "Coma Cluster"])
    >>> positions.ra.deg.round(4).tolist(), positions.dec.deg.round(4).tolist()
    ([61.8232, 194.9531], [3.7099, 27.9806])
    """
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
