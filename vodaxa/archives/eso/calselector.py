"""ESO's calSelector: cascade summaries (the ``#this`` description: `parse_cascade`, `Cascade`), and association
trees as Python objects (`parse_tree`, `Association`), from one XML answer or a multipart answer holding one tree
per dataset; :func:`tree_links` turns a tree into the rows calSelector's VOTable gives, so an answer in trees where
a VOTable was asked for reads the same.

``vodaxa.resolve(frames, calibrations="raw2master")`` asks calSelector for each ESO frame's calibration
cascade; its manifest keeps the cascade summary (``cascade_*`` columns) and the association tree as a file.
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
    """The summary calSelector gives of one calibration cascade.

    A manifest's ``cascade_category``, ``cascade_complete``, ``cascade_certified``, ``cascade_mode`` and
    ``cascade_messages`` columns hold these values for each ESO frame resolved with calibrations.

    Parameters
    ----------
    category : str or None
        The frame's category (``SCIENCE``, ...).
    complete : bool or None
        Whether every calibration the frame needs was found (None: not said).
    certified : bool or None
        Whether the calibrations are certified by ESO (None: not said).
    mode : str or None
        The mode calSelector executed, lower case: ``raw2raw`` or ``raw2master``.
    messages : str or None
        calSelector's messages about the cascade (None: none).

    Examples
    --------
    >>> from vodaxa.archives.eso.calselector import parse_cascade
    >>> cascade = parse_cascade('category="SCIENCE" certified="true" complete="false" mode="Raw2Raw"')
    >>> cascade
    Cascade(category='SCIENCE', complete=False, certified=True, mode='raw2raw', messages=None)
    >>> for warning in cascade.warnings("raw2master"):
    ...     print(warning)
    ALERT: incomplete calibration cascade
    asked for raw2master, calSelector ran raw2raw (no processed calibrations)
    """

    category: str | None
    complete: bool | None
    certified: bool | None
    mode: str | None  # as executed: raw2raw or raw2master (lower case)
    messages: str | None

    def warnings(self, requested_mode: str | None = None) -> list[str]:
        """Say what a careful astronomer should be told about this cascade (ESO's notebook checks these).

        Parameters
        ----------
        requested_mode : str, optional
            The mode asked for (``"raw2master"``): a cascade run in another mode is said (not checked by
            default).

        Returns
        -------
        list of str
            An incomplete cascade, an uncertified one, and a mode other than the one asked for, each said once;
            empty when there is nothing to say.
        """
        out = []
        if self.complete is False:
            out.append("ALERT: incomplete calibration cascade")
        if self.certified is False:
            out.append("the calibration cascade is not certified")
        if requested_mode and self.mode and self.mode != requested_mode.lower():
            out.append(f"asked for {requested_mode.lower()}, calSelector ran {self.mode} (no processed calibrations)")
        return out


def parse_cascade(description: str | None) -> Cascade:
    """Read the cascade summary in a calSelector ``#this`` description (``category="..." complete="true" ...``).

    Parameters
    ----------
    description : str or None
        The description of the ``#this`` row of calSelector's VOTable (None reads as empty).

    Returns
    -------
    Cascade
        The summary; a value the description does not give is None.

    See Also
    --------
    describe : Writes such a description from an association tree.
    """
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
    """One node of an association tree: its files, messages and the associations it needs.

    Parameters
    ----------
    category : str or None
        The association's category (``SCIENCE``, ``DARK``, ...).
    certified : bool or None
        Whether its calibrations are certified (None: not said).
    complete : bool or None
        Whether everything it needs was found (None: not said).
    mode : str or None
        The mode executed, lower case (said on the top association).
    type : str or None
        calSelector's ``type`` attribute (``main``).
    match : str or None
        How the calibration was matched (inner associations).
    files : tuple of tuple of (str, str)
        ``(category, dataset name)`` of its main files.
    messages : tuple of str
        calSelector's messages at this node.
    children : tuple of Association, optional
        The associations it needs (none by default).

    See Also
    --------
    parse_tree : Reads a tree, with an example.
    """

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
        """Go through this node and every node below it, depth first.

        Yields
        ------
        Association
            This node, then each child's nodes in turn.
        """
        yield self
        for child in self.children:
            yield from child.walk()

    def all_files(self) -> list[str]:
        """List every dataset named anywhere in the tree, without repeats, in order.

        Returns
        -------
        list of str
            The dataset names (ESO's ``dp_id``), depth first.
        """
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
    """Read an association tree from calSelector's XML.

    Parameters
    ----------
    body : bytes
        The XML, whose root is an ``<association>``.
    source : str, optional
        Who answered it, for the error messages (``"calSelector"`` by default).

    Returns
    -------
    Association
        The tree's top association.

    Raises
    ------
    vodaxa.errors.ResolveError
        If the XML cannot be read, its root is not an ``<association>``, or it nests deeper than 64 levels
        (``MAX_TREE_DEPTH``; ESO's cascades are a few levels deep).

    Examples
    --------
    A frame and the dark it needs:

    >>> from vodaxa.archives.eso.calselector import describe, parse_tree
    >>> tree = parse_tree(b'''<association category="SCIENCE" certified="true" complete="true" mode="Raw2Master">
    ...   <mainFiles><file category="SCIENCE" name="HAWKI.2020-01-01T01:00:00.000"/></mainFiles>
    ...   <associatedFiles>
    ...     <association category="DARK" certified="true" complete="true" match="closest">
    ...       <mainFiles><file category="MASTER_DARK" name="M.HAWKI.2020-01-01T12:00:00.000"/></mainFiles>
    ...     </association>
    ...   </associatedFiles>
    ... </association>''')
    >>> tree.category, tree.mode, [child.category for child in tree.children]
    ('SCIENCE', 'raw2master', ['DARK'])
    >>> tree.all_files()
    ['HAWKI.2020-01-01T01:00:00.000', 'M.HAWKI.2020-01-01T12:00:00.000']
    >>> describe(tree)
    'category="SCIENCE" certified="true" complete="true" mode="Raw2Master" messages=""'
    """
    try:
        root = ET.fromstring(body)
    except (ET.ParseError, LookupError, ValueError) as err:  # LookupError, ValueError: an encoding expat cannot read
        raise ResolveError(f"{source} did not answer a readable association tree ({err})") from None
    if root.tag != "association":
        raise ResolveError(f"{source} answered <{root.tag}>, not an association tree")
    return _node(root, 0, source)


def parse_multipart(body: bytes, content_type: str, source: str = "calSelector") -> dict[str, Association]:
    """Read the association trees of a multipart answer (one ``<dp_id>_<mode>.xml`` part per dataset).

    Parameters
    ----------
    body : bytes
        The answer's body.
    content_type : str
        Its Content-Type, with the boundary (``multipart/form-data; boundary=...``).
    source : str, optional
        Who answered it, for the error messages (``"calSelector"`` by default).

    Returns
    -------
    dict of str to Association
        ``{file name: tree}`` (a part without a file name is ``part<n>``).

    Raises
    ------
    vodaxa.errors.ResolveError
        If the answer is not multipart, or a part is not an association tree.
    """
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
    """Read calSelector's answer as association trees when it is trees (one XML tree, or a multipart answer of
    them), whatever format was asked for.

    Parameters
    ----------
    body : bytes
        The answer's body.
    content_type : str
        Its Content-Type.
    source : str, optional
        Who answered it, for the error messages (``"calSelector"`` by default).

    Returns
    -------
    dict of str to Association or None
        ``{part name: tree}`` (one tree: its name is ``""``); None when the answer is something else (a VOTable).

    Raises
    ------
    vodaxa.errors.ResolveError
        If the answer is trees that cannot be read.
    """
    kind = content_type.lower()
    if kind.startswith("multipart/"):
        return parse_multipart(body, content_type, source)
    match = _FIRST_TAG.search(body[:4096].lstrip())
    if "content=calselector" in kind or (match and match.group(1).split(b":")[-1] == b"association"):
        return {"": parse_tree(body, source)}
    return None


def describe(tree: Association) -> str:
    """Write the cascade summary of a tree as calSelector writes it in its VOTable's ``#this`` description.

    Parameters
    ----------
    tree : Association
        An association tree (its top association).

    Returns
    -------
    str
        ``category="..." certified="..." complete="..." mode="..." type="..." messages="..."``: the values the
        tree has, the messages of every node joined by semicolons (double quotes made single).

    See Also
    --------
    parse_cascade : Reads such a description.
    """
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
    """Give the rows calSelector's VOTable gives for the frame ``ident`` whose cascade is ``tree``.

    Parameters
    ----------
    tree : Association
        The frame's association tree.
    ident : str
        The frame's DataLink ID (``ivo://eso.org/ID?<dp_id>``).
    file_url : str
        The DataLink service; each file is ``<file_url>?ID=ivo://eso.org/ID?<dp_id>&eso_download=file``.
    tree_url : str
        calSelector's own URL; the tree's row points at it, with ``dp_id`` and the mode executed.

    Returns
    -------
    list of vodaxa.resolvers.datalink.LinkRow
        The ``#this`` row (with the :func:`describe` summary), the sibling raw frames, the calibrations (each
        once) and the association tree's row.

    Raises
    ------
    vodaxa.errors.ResolveError
        If the tree names no file.
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
