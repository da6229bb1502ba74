"""ESO's calSelector: cascade summaries (the ``#this`` description), and association trees as Python objects,
from one XML answer or a multipart answer holding one tree per dataset.
"""

from __future__ import annotations

import email
import email.policy
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ..errors import ResolveError

__all__ = ["Association", "Cascade", "parse_cascade", "parse_multipart", "parse_tree"]

_ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


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

    def walk(self):
        """This node and every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def all_files(self) -> list[str]:
        """Every dataset named anywhere in the tree, without repeats, in order."""
        return list(dict.fromkeys(name for node in self.walk() for _, name in node.files))


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.strip().lower() == "true"


def _node(element: ET.Element) -> Association:
    files = tuple((f.get("category", ""), f.get("name", "")) for f in element.findall("./mainFiles/file"))
    messages = tuple((m.text or "").strip() for m in element.findall("./messages/message") if (m.text or "").strip())
    children = tuple(_node(child) for child in element.findall("./associatedFiles/association"))
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
    return _node(root)


def parse_multipart(body: bytes, content_type: str, source: str = "calSelector") -> dict[str, Association]:
    """``{file name: tree}`` from a multipart answer (one ``<dp_id>_<mode>.xml`` part per dataset)."""
    message = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=email.policy.default
    )
    if not message.is_multipart():
        raise ResolveError(f"{source} answered {content_type!r}, not a multipart document")
    trees = {}
    for part in message.iter_parts():
        name = part.get_filename() or f"part{len(trees)}"
        trees[name] = parse_tree(part.get_payload(decode=True) or b"", f"{source} part {name}")
    return trees
