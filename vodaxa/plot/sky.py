"""Sky plots of search results: observations per mission, and the positions and distances searched."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np

from ..errors import InputError
from .figures import LITERAL, check_figure, check_target, figure, label_sky, literal_legend, require_matplotlib, save
from .searched import coordinates, observation_frame, radius_by_mission, sky_positions

if TYPE_CHECKING:
    from astropy.visualization.wcsaxes import WCSAxes
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..typing import DistanceLike, ObservationSource, PathLike, PositionsLike

__all__ = ["LOCAL_FIELD", "Projection", "sky_plot"]

#: Largest field radius, in degrees, drawn in a tangent-plane view by ``projection="auto"``; wider: all-sky.
LOCAL_FIELD = 30.0

Projection: TypeAlias = Literal["auto", "local", "aitoff", "mollweide"]
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
_NAMED = 20  # missions with a colour and legend entry of their own; beyond, the rest share one, in grey
_CIRCLE_LABELS = 8  # legend entries of circles; beyond, the rest share one
_REST = "0.55"  # the grey of the missions (and circles) beyond those


def sky_plot(
    observations: ObservationSource,
    *,
    positions: PositionsLike | None = None,
    radius: DistanceLike | Mapping[str, DistanceLike] | None = None,
    projection: Projection = "auto",
    title: str | None = None,
    path: PathLike | None = None,
    size: tuple[float, float] = (9.0, 6.0),
    dpi: float = 100,
) -> Figure:
    """Draw observations on the sky, a colour and marker per mission, with the positions and radii searched.

    The legend counts each mission's observations (and those without coordinates, which cannot be drawn: no
    RA or Dec, a Dec beyond +-90 degrees or an RA beyond +-360; others are wrapped into 0-360).  Twenty missions
    at most get a colour and an entry of their own; beyond, the rest are grey dots counted in one entry ("+N more
    missions"), and beyond eight sets of circles the rest share one entry.  Every text is drawn as written (a
    ``$`` in a mission name or title is not mathtext).  The positions searched are crosses; around them,
    circles of the angular size each mission searched (the widest instrument's where it varies by instrument;
    one circle per position where it varies by position).  A search result knows both (``attrs["positions"]``
    and ``attrs["radius"]``, see :func:`vodaxa.search`), so ``sky_plot(result)`` draws them; so does a
    :class:`~vodaxa.Mission` filtered on positions.  Where ``attrs`` hold no positions (a search of more than
    :data:`vodaxa.query.search.RECORDED_POSITIONS`, or a table read back from a file), those searched by
    coordinates are read from the ``targets`` column ("ra,dec"), as far as observations were found near them.
    Recorded positions or distances that cannot be read (not [ra, dec] pairs on the sky, a distance that is not
    an angle) are left out, with an :class:`~vodaxa.errors.AdjustedInputWarning` naming them.  An empty result
    draws the positions alone, or an empty sky saying so.

    Parameters
    ----------
    observations : pandas.DataFrame, astropy.table.Table, pyvo result or vodaxa.Mission
        The observations: a :func:`vodaxa.search` result, any observation table (``mission``, ``ra`` and
        ``dec`` columns; ObsCore's ``obs_collection``, ``s_ra`` and ``s_dec`` also do), the same as an astropy
        Table (:func:`vodaxa.tables.to_table`) or pyvo result, or a Mission (its filtered observations).
    positions : SkyCoord, str, sequence of str or of [ra, dec] pairs, optional
        Positions to mark instead of those the search recorded: a SkyCoord, object names (resolved with
        Sesame), or ``[ra, dec]`` pairs in degrees (ICRS; RA within +-360, Dec within +-90).  Default: the positions
        searched, if known.
    radius : float, Quantity, sequence of them, or dict, optional
        The circles' radii instead of the distances the search recorded: one angle (degrees or a Quantity),
        one per position, or a ``{mission: distance}`` dict (of angles, or of ``{instrument: angle}`` dicts).
        Default: the distances searched, if known.
    projection : {'auto', 'local', 'aitoff', 'mollweide'}, optional
        ``"auto"`` (default) draws a tangent-plane view centred on the field when everything lies within
        :data:`LOCAL_FIELD` degrees of its centre, else an Aitoff all-sky map; the others force a view.
    title : str, optional
        The figure's title; default: how many observations of how many missions.
    path : str or os.PathLike, optional
        Also write the figure here (``.png``, ``.pdf`` or ``.svg``; missing folders are made; written whole or
        not at all).
    size : tuple of float, optional
        Width and height in inches (default 9 x 6).
    dpi : float, optional
        Dots per inch of a written PNG (default 100: 900 x 600 pixels); with ``size``, at most
        :data:`vodaxa.plot.MAX_FIGURE_PIXELS` pixels.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, made without pyplot (a notebook shows it as a cell's value); its first axes are astropy
        WCSAxes, whose ``wcs`` says the projection (``RA---TAN``, ``RA---ARC``, ``RA---AIT`` or ``RA---MOL``).

    Raises
    ------
    vodaxa.errors.InputError
        ``observations`` is not an observation table or Mission (or has two columns of a name it reads),
        ``positions`` are not on the sky or hold an empty name (before any request), a ``radius`` is not an
        angle, ``projection`` is unknown, ``size`` or ``dpi`` are not positive (or make too many pixels), or
        ``path`` has another suffix, is a folder or cannot be written.
    vodaxa.errors.NameResolutionError
        An object name given as ``positions`` that Sesame does not know.
    vodaxa.errors.MissingDependencyError
        matplotlib is not installed (``pip install 'vodaxa[plot]'``).

    Warns
    -----
    vodaxa.errors.AdjustedInputWarning
        ``attrs["positions"]`` or a distance of ``attrs["radius"]`` could not be read, and is not drawn.

    See Also
    --------
    vodaxa.search : Observations near targets, with the positions and radii searched in ``attrs``.
    quicklook : A picture of one image.

    Examples
    --------
    >>> import vodaxa
    >>> from vodaxa.plot import sky_plot
    >>> found = vodaxa.search("3C 105", missions=["chandra", "xmm_pointed", "nustar_pointed"])
    >>> figure = sky_plot(found, path="3c105-sky.png")
    >>> figure.get_size_inches().tolist()
    [9.0, 6.0]
    """
    require_matplotlib("sky_plot")
    if projection not in ("auto", "local", "aitoff", "mollweide"):
        raise InputError(f"projection={projection!r}: use 'auto', 'local', 'aitoff' or 'mollweide'")
    check_figure(size, dpi)
    check_target(path)
    frame, searched, radii = observation_frame(observations)
    if positions is not None:
        searched = sky_positions(positions)
    if radius is not None:
        radii = radius_by_mission(radius)
    ra, dec, missions = coordinates(frame)
    names = list(dict.fromkeys(missions))
    named = names if len(names) <= _NAMED else names[: _NAMED - 1]
    circles, by_instrument = _circles(names, radii, searched, given=radius is not None)
    fig = figure(size, dpi)
    points_ra = np.concatenate([ra, searched[:, 0]])
    points_dec = np.concatenate([dec, searched[:, 1]])
    reach = np.concatenate([np.zeros(len(ra)), _widest_per_position(circles, len(searched))])
    view = _view(points_ra, points_dec, reach, projection, centre_on=searched)
    ax = _sky_axes(fig, view)
    draw = _Drawer(ax, view)
    small = len(ra) > 500
    located = np.isfinite(ra) & np.isfinite(dec)
    for index, name in enumerate(named):
        mine = missions == name
        draw.points(ra[mine & located], dec[mine & located], marker=_MARKERS[index % len(_MARKERS)],
                    color=_colour(index, len(named)), size=10 if small else 28, label=_counted(name, mine, located))
    if len(named) < len(names):  # the others share a grey dot and one legend entry
        mine = ~np.isin(missions, named)
        label = _counted(f"+{len(names) - len(named)} more missions", mine, located)
        draw.points(ra[mine & located], dec[mine & located], marker=".", color=_REST, size=10 if small else 28,
                    label=label)  # fmt: skip
    for group, (colour, label) in _circle_groups(circles, named, by_instrument).items():
        ra_c, dec_c = _circle_paths(searched, circles[group[0]])
        draw.lines(ra_c, dec_c, color=colour, label=label)
    if len(searched):
        label = f"searched position{'s' if len(searched) != 1 else ''} ({len(searched)})"
        draw.points(searched[:, 0], searched[:, 1], marker="+", color="black", size=60 if len(searched) < 50 else 20,
                    label=label, zorder=4)  # fmt: skip
    if not np.isfinite(ra).any():
        ax.text(0.5, 0.9, "no observations" if not len(ra) else "no observation has coordinates",
                transform=ax.transAxes, ha="center", va="center", fontsize=14, color="0.35")  # fmt: skip
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        literal_legend(fig.legend(handles, labels, loc="outside right upper", fontsize="small", frameon=False))
    ax.set_title(title if title is not None else _sky_title(len(ra), len(names), len(searched)), pad=14, **LITERAL)
    if path is not None:
        save(fig, path, dpi)
    return fig


def _counted(name: str, mine: np.ndarray, located: np.ndarray) -> str:
    """A legend entry: how many observations, and how many of them have no position."""
    count, missing = int(mine.sum()), int((mine & ~located).sum())
    return f"{name} ({count}{f', {missing} without position' if missing else ''})"


def _circles(
    names: list[str], radii: Mapping[str, object], searched: np.ndarray, given: bool
) -> tuple[dict[str, np.ndarray], set[str]]:
    """The radius in degrees of each mission's circle around each position searched (NaN: none drawn), and the
    missions whose distance varied by instrument (their widest is drawn).  Distances per position that do not
    match the positions are an InputError when ``given``; recorded ones (the positions read back from the
    targets column, say) are drawn at their widest."""
    out, by_instrument = {}, set()
    for name in names or list(radii):
        value = radii.get(name, radii.get("*"))
        if value is None and len(radii) == 1 and "*" not in radii and not set(radii) & set(names):
            # a Mission's rows answered by a fallback source (another mission column): the Mission's distance
            value = next(iter(radii.values()))
        if isinstance(value, Mapping):  # per instrument: the widest field searched
            if len({float(v) for v in value.values()}) > 1:
                by_instrument.add(name)
            value = max((float(v) for v in value.values()), default=math.nan)
        values = np.asarray(value if value is not None else math.nan, dtype=float).reshape(-1)
        if values.size not in (1, len(searched)):
            if given:
                raise InputError(f"radius: {values.size} distances for {len(searched)} positions; give one per "
                                 "position")  # fmt: skip
            values = np.array([np.nanmax(values)]) if values.size else np.array([math.nan])
        out[name] = np.broadcast_to(values, (len(searched),)).astype(float)
    return out, by_instrument


def _widest_per_position(circles: Mapping[str, np.ndarray], count: int) -> np.ndarray:
    widest = np.zeros(count)
    for values in circles.values():
        widest = np.fmax(widest, values)
    return widest


def _circle_groups(
    circles: Mapping[str, np.ndarray], named: list[str], by_instrument: set[str]
) -> dict[tuple[str, ...], tuple[str, str]]:
    """Missions that searched the same distances share circles: {missions: (colour, legend label)}; a mission of
    ``named`` alone in its group has its colour.  Beyond _CIRCLE_LABELS groups, the rest share one label (the
    others are "_", which matplotlib leaves out of the legend)."""
    groups: dict[tuple[float, ...], list[str]] = {}
    for name, values in circles.items():
        if values.size and np.isfinite(values).any():
            groups.setdefault(tuple(np.round(values, 9)), []).append(name)
    out = {}
    for distances, members in groups.items():
        notes = [f"{len(members)} missions"] if len(members) > 1 else []
        if by_instrument & set(members):
            notes.append("the widest instrument's")  # by instrument: the widest is drawn
        within = _within(distances) + (f" ({'; '.join(notes)})" if notes else "")
        if len(members) == 1 and members[0] != "*":
            colour = _colour(named.index(members[0]), len(named)) if members[0] in named else "0.3"
            out[tuple(members)] = (colour, f"{members[0]}: searched within {within}")
        else:
            out[tuple(members)] = ("0.3", f"searched within {within}")
    if len(out) <= _CIRCLE_LABELS:
        return out
    kept = dict(list(out.items())[: _CIRCLE_LABELS - 1])
    rest = [members for members in out if members not in kept]
    distances = tuple(v for members in rest for v in circles[members[0]])
    count = sum(len(members) for members in rest)
    label = f"searched within {_within(distances)} ({count} more mission{'s' * (count != 1)})"
    return {**kept, **{members: (_REST, label if not n else "_") for n, members in enumerate(rest)}}


def _within(distances: tuple[float, ...]) -> str:
    """The distances (degrees, NaN: none) as an angle or a range of them."""
    finite = [v for v in distances if math.isfinite(v)]
    lo, hi = min(finite), max(finite)
    return f"{_angle(hi)}" if lo == hi else f"{_angle(lo)}-{_angle(hi)}"


def _angle(degrees: float) -> str:
    """An angle for a legend: arcseconds, arcminutes or degrees."""
    if degrees < 1 / 60:
        return f"{degrees * 3600:.3g}\u2033"
    if degrees < 1:
        return f"{degrees * 60:.3g}\u2032"
    return f"{degrees:.3g}\u00b0"


def _sky_title(observations: int, missions: int, positions: int) -> str:
    what = "no observations" if not observations else f"{observations} observation{'s' * (observations != 1)}"
    if missions:
        what += f" of {missions} mission{'s' * (missions != 1)}"
    if positions:
        what += f" near {positions} position{'s' * (positions != 1)}"
    return what


def _circle_paths(centres: np.ndarray, radii: np.ndarray, vertices: int = 91) -> tuple[np.ndarray, np.ndarray]:
    """Circles of ``radii`` degrees on the sphere around ``centres``, as RA/Dec polylines separated by NaN."""
    keep = np.isfinite(radii) & (radii > 0)
    if not keep.any():
        return np.empty(0), np.empty(0)
    ra0, dec0 = np.radians(centres[keep, 0])[:, None], np.radians(centres[keep, 1])[:, None]
    r = np.radians(np.minimum(radii[keep], 180.0))[:, None]
    angle = np.linspace(0, 2 * np.pi, vertices)[None, :]
    sin_dec = np.sin(dec0) * np.cos(r) + np.cos(dec0) * np.sin(r) * np.cos(angle)
    dec = np.arcsin(np.clip(sin_dec, -1, 1))
    ra = ra0 + np.arctan2(np.sin(angle) * np.sin(r) * np.cos(dec0), np.cos(r) - np.sin(dec0) * sin_dec)
    gap = np.full((ra.shape[0], 1), np.nan)
    return (np.degrees(np.hstack([ra, gap])).reshape(-1) % 360, np.degrees(np.hstack([dec, gap])).reshape(-1))


class _View:
    """How the sky is drawn: a tangent-plane (or zenithal equidistant) view around a centre, or all-sky."""

    def __init__(self, kind: str, centre: tuple[float, float] = (0.0, 0.0), half_width: float = 180.0) -> None:
        self.kind, self.centre, self.half_width = kind, centre, half_width


def _view(ra: np.ndarray, dec: np.ndarray, reach: np.ndarray, projection: str, centre_on: np.ndarray) -> _View:
    """The view that shows every point and circle: local when they lie within LOCAL_FIELD of their centre (that of
    the positions ``centre_on`` when there are some, else of all the points)."""
    if projection in ("aitoff", "mollweide"):
        return _View(projection)
    known = np.isfinite(ra) & np.isfinite(dec)
    if not known.any():
        return _View("local" if projection == "local" else "aitoff", (0.0, 0.0), 90.0)
    vectors = _vectors(ra[known], dec[known])
    mean = (_vectors(centre_on[:, 0], centre_on[:, 1]) if len(centre_on) else vectors).mean(axis=0)
    if np.linalg.norm(mean) < 1e-9:  # points all round the sky
        return _View("local" if projection == "local" else "aitoff", (0.0, 0.0), 90.0)
    mean /= np.linalg.norm(mean)
    centre = (float(np.degrees(np.arctan2(mean[1], mean[0])) % 360), float(np.degrees(np.arcsin(mean[2]))))
    distance = np.degrees(np.arccos(np.clip(vectors @ mean, -1, 1)))
    extent = float(np.max(distance + np.nan_to_num(reach[known])))
    if projection == "auto" and extent > LOCAL_FIELD:
        return _View("aitoff")
    half = extent * 1.12 if extent > 0 else 0.1  # a margin; a lone point in a field 0.2 degrees across
    return _View("local", centre, min(half, 179.0))


def _vectors(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Unit vectors of RA/Dec in degrees, one per row."""
    lon, lat = np.radians(ra), np.radians(dec)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _sky_axes(fig: Figure, view: _View) -> Axes:
    """WCSAxes for ``view``: a TAN (or, beyond 60 degrees, ARC) projection around its centre, or an Aitoff or
    Mollweide map of the whole sky centred on RA 0 (RA increasing to the left, as on the sky)."""
    from astropy import units as u
    from astropy.wcs import WCS

    wcs = WCS(naxis=2)
    wcs.wcs.radesys = "ICRS"
    if view.kind != "local":
        from astropy.visualization.wcsaxes.frame import EllipticalFrame

        code = "AIT" if view.kind == "aitoff" else "MOL"
        edge = math.degrees(2 * math.sqrt(2))  # both maps are 4 sqrt(2) by 2 sqrt(2) radians
        wcs.wcs.ctype = [f"RA---{code}", f"DEC--{code}"]
        wcs.wcs.crval, wcs.wcs.crpix, wcs.wcs.cdelt = [0.0, 0.0], [1.0, 1.0], [-1.0, 1.0]  # pixel 0: RA 0, Dec 0
        ax = fig.add_subplot(projection=wcs, frame_class=EllipticalFrame)
        ax.set_xlim(-edge, edge)
        ax.set_ylim(-edge / 2, edge / 2)
        ax.set_aspect("equal")
        label_sky(ax, "", "Dec", grid=True)  # RA is read off the equator's labels
        ax.coords[0].set_ticks(spacing=30 * u.deg)
        ax.coords[0].set_major_formatter("d")
        ax.coords[0].set_ticklabel(color="0.35", size="small")
        ax.coords[1].set_ticklabel(size="small")
        return ax
    pixels = 1000
    tangent = view.half_width <= 60
    plane = math.degrees(math.tan(math.radians(view.half_width))) if tangent else view.half_width
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"] if tangent else ["RA---ARC", "DEC--ARC"]
    wcs.wcs.crval = list(view.centre)
    wcs.wcs.crpix = [pixels / 2 + 0.5, pixels / 2 + 0.5]  # FITS counts from 1, matplotlib from 0: the middle
    wcs.wcs.cdelt = [-2 * plane / pixels, 2 * plane / pixels]
    ax = fig.add_subplot(projection=wcs)
    ax.set_xlim(-0.5, pixels - 0.5)
    ax.set_ylim(-0.5, pixels - 0.5)
    ax.set_aspect("equal")
    label_sky(ax, "RA (ICRS)", "Dec", grid=True)
    return ax


class _Drawer:
    """Points and lines given in RA/Dec degrees, drawn through the WCSAxes' world transform."""

    def __init__(self, ax: Axes, view: _View) -> None:
        self.ax, self.all_sky = ax, view.kind != "local"
        self.options: dict[str, Any] = {"transform": _world(ax)}

    def points(self, ra: np.ndarray, dec: np.ndarray, *, marker: str, color: str, size: float, label: str,
               zorder: float = 3) -> None:  # fmt: skip
        self.ax.scatter(ra, dec, s=size, marker=marker, color=color, label=label, zorder=zorder, linewidths=1,
                        **self.options)  # fmt: skip

    def lines(self, ra: np.ndarray, dec: np.ndarray, *, color: str, label: str) -> None:
        if not ra.size:
            return
        if self.all_sky:  # a circle crossing the map's edge (RA 180): broken there, not drawn across the map
            x, y = _pixels(self.ax, ra, dec)
            jump = np.nonzero(np.abs(np.diff(x)) > np.ptp(self.ax.get_xlim()) / 2)[0] + 1
            x, y = np.insert(x, jump, np.nan), np.insert(y, jump, np.nan)
            self.ax.plot(x, y, color=color, linewidth=1.0, linestyle="--", label=label, zorder=2)
            return
        self.ax.plot(ra, dec, color=color, linewidth=1.0, linestyle="--", label=label, zorder=2, **self.options)


def _world(ax: WCSAxes) -> object:
    """The transform taking RA/Dec in degrees to the WCSAxes' pixels."""
    return ax.get_transform("world")


def _pixels(ax: WCSAxes, ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RA/Dec in degrees as the WCSAxes' pixel coordinates (from 0, as matplotlib counts); NaN stays NaN."""
    x, y = ax.wcs.wcs_world2pix(ra, dec, 0)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _colour(index: int, count: int) -> str:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["tab10" if count <= 10 else "tab20"]
    return str(to_hex(cmap(index % cmap.N)))
