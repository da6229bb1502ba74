"""HEASARC's DataLink answers, in each shape the real service has used (``SandboxConfig.heasarc_datalink``).

* ``"current"`` (2026, reported in astroquery issue #3652): the ID comes back as
  ``ivo://nasa.heasarc/<table>?<__row>`` whatever form was sent; an observation that is not public (or
  unknown) gets no rows at all; a public one gets a nested DataLink row and its ``/FTP/`` directory
  labelled ``text/html`` (with HEASARC's double slash before the ObsID), both with HEASARC's product
  semantics ``https://heasarc.gsfc.nasa.gov/xamin/jsp/products.jsp#<mission>.obs``; ``chanmaster`` adds a
  bibliography, an abstract and cross-links to other catalogues (eight rows, seven ``text/html``).  The
  nested document (``/xamin/vo/datalink?datalink_key&id=<ID>/<mission>.obs``) lists the observation's
  top-level entries as products ``<mission>.obs.<name>``.
* ``"legacy"`` (until 2026): the directory row has semantics ``#this`` and content type ``directory``,
  beside a ``#documentation`` page and an ``#auxiliary`` link back to the same document; observations
  without public data get an error row.
* ``"files"`` (not a shape HEASARC has used; for benchmarks): the legacy shape's IDs and error rows, but each
  public observation answers three ``#this`` rows that are files of its directory (the first three of its
  layout that every observation has), so that resolving needs no directory walk.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from ....resolvers.datalink import LinkRow as Link
from ...protocols.vo import DATALINK_MIME

__all__ = [
    "IVO_PREFIX",
    "PRODUCTS",
    "SHAPES",
    "current_links",
    "file_links",
    "legacy_links",
    "nested_links",
    "split_nested",
]

IVO_PREFIX = "ivo://nasa.heasarc/"
#: HEASARC's product vocabulary: a semantics URI per Xamin product key.
PRODUCTS = "https://heasarc.gsfc.nasa.gov/xamin/jsp/products.jsp#"
SHAPES = ("current", "legacy", "files")
#: Catalogues ``chanmaster`` rows link to (cross-links ``#link.<catalogue>``).
_CROSS = ("csc", "xmmmaster", "rosmaster", "numaster")


def ivo_id(table: str, key: str) -> str:
    """The identifier HEASARC answers with for a row of ``table``."""
    return f"{IVO_PREFIX}{table}?{key}"


def current_links(table: str, key: str, base: str, obs_path: str, obsid: str, length: int | None) -> list[Link]:
    """The 2026 answer for a public observation whose directory is ``obs_path`` (relative, trailing slash)."""
    ident = ivo_id(table, key)
    product = obs_path.split("/", 1)[0] + ".obs"
    head, _, last = obs_path.rstrip("/").rpartition("/")
    rows = [
        Link(
            ident,
            access_url=f"{base}/xamin/vo/datalink?datalink_key&id={ident}/{product}",
            semantics=PRODUCTS + product,
            content_type=DATALINK_MIME,
            description=f"Data products for observation {obsid}",
        ),
        Link(
            ident,
            access_url=f"{base}/FTP/{head}//{last}/",
            semantics=PRODUCTS + product,
            content_type="text/html",
            description=f"Observation directory for {obsid}",
            content_length=length,
        ),
    ]
    if table == "chanmaster":
        query = f"table={table}&id={quote(key)}"
        rows += [
            Link(ident, access_url=f"{base}/xamin/bib?{query}", semantics=PRODUCTS + "point.bib",
                 content_type="text/html", description=f"Bibliography for {obsid}"),
            Link(ident, access_url=f"{base}/xamin/bib?{query}&abstracts", semantics=PRODUCTS + "point.abstract",
                 content_type="text/html", description=f"Abstracts of papers using {obsid}"),
        ]  # fmt: skip
        rows += [
            Link(ident, access_url=f"{base}/xamin/query?table={cat}&near={quote(key)}",
                 semantics=f"{PRODUCTS}link.{cat}", content_type="text/html",
                 description=f"Entries of {cat} near this observation")
            for cat in _CROSS
        ]  # fmt: skip
    return rows


def legacy_links(table: str, ident: str, key: str, base: str, obs_path: str, obsid: str, mission: str,
                 length: int | None) -> list[Link]:  # fmt: skip
    """The older answer for a public observation: ``#this`` directory, documentation, a link to itself."""
    return [
        Link(
            ident,
            access_url=f"{base}/FTP/{obs_path}",
            semantics="#this",
            content_type="directory",
            description=f"{mission} observation {obsid}: archive directory",
            content_length=length,
        ),
        Link(
            ident,
            access_url=f"{base}/xamin/vo/products/{table}/{key}.html",
            semantics="#documentation",
            content_type="text/html",
            description=f"Bibliography and abstracts for {obsid}",
        ),
        Link(
            ident,
            access_url=f"{base}/xamin/vo/datalink/{table}?ID={key}",
            semantics="#auxiliary",
            content_type=DATALINK_MIME,
            description="Links for this observation (this document)",
        ),
    ]


def file_links(ident: str, base: str, obs_path: str, files: Sequence[str], obsid: str, mission: str,
               sizes: Sequence[int | None]) -> list[Link]:  # fmt: skip
    """The ``"files"`` answer for a public observation: a ``#this`` row per file (``files`` relative to its
    directory ``obs_path``), with its size when known."""
    return [
        Link(
            ident,
            access_url=f"{base}/FTP/{obs_path}{name}",
            semantics="#this",
            content_type=_content_type(name),
            description=f"{mission} observation {obsid}: {name}",
            content_length=size,
        )
        for name, size in zip(files, sizes)
    ]


def split_nested(ident: str) -> tuple[str, str, str] | None:
    """(table, row key, product) of a nested ID ``ivo://nasa.heasarc/<table>?<key>/<product>``, else None."""
    if not ident.startswith(IVO_PREFIX) or "?" not in ident:
        return None
    table, _, rest = ident[len(IVO_PREFIX) :].partition("?")
    key, _, product = rest.partition("/")
    if not table or not key or not product:
        return None
    return table, key, product


def nested_links(ident: str, base: str, obs_path: str, directory: Path, product: str) -> list[Link]:
    """The nested document of an observation product: its top-level entries, each a product of its own."""
    entries: Sequence[Path] = sorted(directory.iterdir(), key=lambda p: p.name)
    rows = []
    for entry in entries:
        name = entry.name
        if entry.is_dir():
            url, ctype, size = f"{base}/FTP/{obs_path}{name}/", "text/html", None
        else:
            url, ctype, size = f"{base}/FTP/{obs_path}{name}", _content_type(name), entry.stat().st_size
        label = name.split(".", 1)[0] if not entry.is_dir() else name
        rows.append(
            Link(ident, access_url=url, semantics=f"{PRODUCTS}{product}.{label}", content_type=ctype,
                 description=f"{name} of this observation", content_length=size)
        )  # fmt: skip
    return rows


def _content_type(name: str) -> str:
    lower = name.lower()
    if lower.endswith((".gz", ".z")):
        return "application/gzip" if lower.endswith(".gz") else "application/x-compress"
    if lower.endswith((".fits", ".evt", ".img", ".pha", ".lc")):
        return "application/fits"
    if lower.endswith(".html"):
        return "text/html"
    return "text/plain" if lower.endswith((".txt", ".log")) else "application/octet-stream"
