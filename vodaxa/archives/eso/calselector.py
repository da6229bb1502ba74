"""ESO's calSelector: cascade summaries (the ``#this`` description), and association trees as Python objects,
from one XML answer or a multipart answer holding one tree per dataset; :func:`tree_links` turns a tree into
the rows calSelector's VOTable gives, so an answer in trees where a VOTable was asked for reads the same.
"""

from __future__ import annotations

import email
import email.policy
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

from ...errors import ResolveError
from ...resolvers.datalink import LinkRow

__all__ = [
    "Association",
    "Cascade",
    "describe",
    "parse_cascade",
    "parse_multipart",
    "parse_tree",
    "parse_trees",
    "tree_links",
]

_ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')
_FIRST_TAG = re.compile(rb"<([A-Za-z_][\w.:-]*)")  # the first element (declarations and comments start <? and <!)
_MODES = {"raw2raw": "Raw2Raw", "raw2master": "Raw2Master"}
_ESO = "http://archive.eso.org/rdf/datalink/eso#"
#: What calSelector's VOTable rows say, by kind of file: semantics of siblings, calibrations and trees.
SIBLING_RAW, CALIBRATION = _ESO + "sibling_raw", "#calibration"
TREE_SEMANTICS = {"raw2raw": _ESO + "calSelector_raw2raw", "raw2master": _ESO + "calSelector_raw2master"}


@dataclass(frozen=True)
class Cascade:
    """The summary calSelector gives of one calibration cascade."""

    category: str | None
    complete: bool | None
    certified: bool | None
    mode: str | None  # as executed: raw2raw or raw2master (lower case)
    messages: str | None

    def warnings(self, requested_mode: str | None = None) -> list[str]:
        """What a careful astronomer should be told about this cascade (ESO's notebook checks these)."""
        out = []
        if self.complete is False:
            out.append("ALERT: incomplete calibration cascade")
        if self.certified is False:
            out.append("the calibration cascade is not certified")
        if requested_mode and self.mode and self.mode != requested_mode.lower():
            out.append(f"asked for {requested_mode.lower()}, calSelector ran {self.mode} (no processed calibrations)")
        return out


def parse_cascade(description: str | None) -> Cascade:
    """The cascade summary in a calSelector ``#this`` description (``category="..." complete="true" ...``)."""
    values = dict(_ATTRIBUTE.findall(description or ""))

    def flag(name: str) -> bool | None:
        value = values.get(name)
        return None if value is None else value.strip().lower() == "true"

    mode = values.get("mode")
    return Cascade(
        values.get("category"),
        flag("complete"),
        flag("certified"),
        mode.lower() if mode else None,
        values.get("messages") or None,
    )


@dataclass(frozen=True)
class Association:
    """One node of an association tree: its files, messages and the associations it needs."""

    category: str | None
    certified: bool | None
    complete: bool | None
    mode: str | None
    type: str | None
    match: str | None
    files: tuple[tuple[str, str], ...]  # (category, dataset name) of the main files
    messages: tuple[str, ...]
    children: tuple[Association, ...] = field(default_factory=tuple)

    def walk(self) -> Iterator[Association]:
        """This node and every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def all_files(self) -> list[str]:
        """Every dataset named anywhere in the tree, without repeats, in order."""
        return list(dict.fromkeys(name for node in self.walk() for _, name in node.files))


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.strip().lower() == "true"


#: How deep association trees may nest (ESO's cascades are a few levels; a deeper tree is not a cascade).
MAX_TREE_DEPTH = 64


def _node(element: ET.Element, depth: int = 0, source: str = "calSelector") -> Association:
    if depth > MAX_TREE_DEPTH:
        raise ResolveError(f"{source} answered an association tree nested deeper than {MAX_TREE_DEPTH} levels")
    files = tuple((f.get("category", ""), f.get("name", "")) for f in element.findall("./mainFiles/file"))
    messages = tuple((m.text or "").strip() for m in element.findall("./messages/message") if (m.text or "").strip())
    children = tuple(_node(c, depth + 1, source) for c in element.findall("./associatedFiles/association"))
    return Association(
        element.get("category"),
        _flag(element.get("certified")),
        _flag(element.get("complete")),
        (element.get("mode") or "").lower() or None,
        element.get("type"),
        element.get("match"),
        files,
        messages,
        children,
    )


def parse_tree(body: bytes, source: str = "calSelector") -> Association:
    """An association tree from calSelector's XML."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as err:
        raise ResolveError(f"{source} did not answer a readable association tree ({err})") from None
    if root.tag != "association":
        raise ResolveError(f"{source} answered <{root.tag}>, not an association tree")
    return _node(root, 0, source)


def parse_multipart(body: bytes, content_type: str, source: str = "calSelector") -> dict[str, Association]:
    """``{file name: tree}`` from a multipart answer (one ``<dp_id>_<mode>.xml`` part per dataset)."""
    message = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=email.policy.default
    )
    if not message.is_multipart():
        raise ResolveError(f"{source} answered {content_type!r}, not a multipart document")
    trees: dict[str, Association] = {}
    for part in message.iter_parts():
        name = part.get_filename() or f"part{len(trees)}"
        payload = part.get_payload(decode=True)
        trees[name] = parse_tree(payload if isinstance(payload, bytes) else b"", f"{source} part {name}")
    return trees


def parse_trees(body: bytes, content_type: str, source: str = "calSelector") -> dict[str, Association] | None:
    """``{part name: tree}`` when calSelector answered association trees (one XML tree, or a multipart
    answer of them), whatever format was asked for; None when the answer is something else (a VOTable)."""
    kind = content_type.lower()
    if kind.startswith("multipart/"):
        return parse_multipart(body, content_type, source)
    match = _FIRST_TAG.search(body[:4096].lstrip())
    if "content=calselector" in kind or (match and match.group(1).split(b":")[-1] == b"association"):
        return {"": parse_tree(body, source)}
    return None


def describe(tree: Association) -> str:
    """The cascade summary of ``tree`` as calSelector writes it in its VOTable's ``#this`` description."""
    messages = "; ".join(dict.fromkeys(m.replace('"', "'") for node in tree.walk() for m in node.messages))
    values = {
        "category": tree.category,
        "certified": None if tree.certified is None else str(tree.certified).lower(),
        "complete": None if tree.complete is None else str(tree.complete).lower(),
        "mode": _MODES.get(tree.mode or "", tree.mode),
        "type": tree.type,
        "messages": messages,
    }
    return " ".join(f'{k}="{v}"' for k, v in values.items() if v is not None)


def tree_links(tree: Association, ident: str, file_url: str, tree_url: str) -> list[LinkRow]:
    """The rows calSelector's VOTable gives for the frame ``ident`` whose cascade is ``tree``.

    ``file_url`` is the DataLink service (each file is ``<file_url>?ID=ivo://eso.org/ID?<dp_id>&eso_download=file``),
    ``tree_url`` calSelector's own URL (the tree's row points at it, with ``dp_id`` and the mode executed).
    """
    prefix = ident.rpartition("?")[0] + "?"
    main = [name for _, name in tree.files]
    if not main:
        raise ResolveError(f"calSelector answered an association tree for {ident} naming no file")

    def link(category: str, name: str, semantics: str) -> LinkRow:
        query = urlencode({"ID": prefix + name, "eso_download": "file"}, safe="/:?")
        sep = "&" if "?" in file_url else "?"
        return LinkRow(ident, access_url=f"{file_url}{sep}{query}", semantics=semantics,
                       content_type="application/fits", extra={"eso_category": category})  # fmt: skip

    rows = [LinkRow(ident, semantics="#this", description=describe(tree), extra={"eso_category": tree.files[0][0]})]
    rows += [link(category, name, SIBLING_RAW) for category, name in tree.files[1:]]
    found = dict.fromkeys((c, n) for node in tree.walk() for c, n in node.files if n not in main)
    rows += [link(category, name, CALIBRATION) for category, name in found]
    query = urlencode({"dp_id": ident[len(prefix) :], "mode": _MODES.get(tree.mode or "", tree.mode or "")}, safe=":")
    semantics = TREE_SEMANTICS.get(tree.mode or "", "#auxiliary")
    tree_row = LinkRow(ident, access_url=f"{tree_url}?{query}", semantics=semantics, content_type="application/xml",
                       extra={"eso_category": "ASSOCIATION_TREE"})  # fmt: skip
    return [*rows, tree_row]
