"""HEASARC's own DataLink semantics (since 2026): ``.../xamin/jsp/products.jsp#nustar.obs`` is the observation's
data, what the core term ``#this`` means; bibliography and cross-links (``point.``, ``link.``) are not data."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...resolvers.datalink import LinkRow

__all__ = ["core_term", "is_observation_link", "product_key"]

_PRODUCT = re.compile(r"/xamin/jsp/products\.jsp#(?P<key>[\w.+-]+)$")
_NOT_DATA = ("point.", "link.")  # bibliography, abstracts and cross-links to other catalogues


def product_key(semantics: str | None) -> str | None:
    """HEASARC's product key of a semantics URI (``...products.jsp#nustar.obs`` -> ``nustar.obs``), else None."""
    found = _PRODUCT.search(semantics or "")
    return found.group("key") if found else None


def is_observation_link(row: LinkRow) -> bool:
    """Whether a row stands for the observation's data: ``#this`` (older answers) or a HEASARC data product."""
    key = product_key(row.semantics)
    return row.semantics == "#this" or (key is not None and not key.startswith(_NOT_DATA))


def core_term(row: LinkRow) -> str | None:
    """HEASARC's data-product semantics stand for ``#this`` (for resolvers that know only core terms), else None."""
    return "#this" if row.semantics != "#this" and is_observation_link(row) else None
