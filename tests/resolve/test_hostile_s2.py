"""Hostile review of the resolve path's shortcuts: the general code they fall back to must give what they give."""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from urllib.parse import parse_qsl, urlencode

import pytest

from vodaxa.errors import ResolveError
from vodaxa.manifest import Manifest, _checked_frame, _frame_of
from vodaxa.net.client import Response
from vodaxa.resolvers.datalink import DATALINK_MIME, DataLinkEngine, LinkRow, _form_body, parse_links
from vodaxa.sandbox.protocols.vo import links_document


class _Row(dict):
    """A mapping that is not exactly a dict: the one-pass path leaves it to the general one."""


@pytest.mark.parametrize("rows", [[{}], [{}, {}], [_Row()], [OrderedDict(), _Row()]])
def test_a_row_without_any_column_is_refused_by_every_path_not_dropped(rows):
    # the general path made a frame of no columns, hence of no rows: the row was lost without a word
    for build in (Manifest, lambda r: _checked_frame(_frame_of(r))):
        with pytest.raises(ResolveError, match=f"{len(rows)} manifest rows have neither a URL nor a note"):
            build(rows)


@pytest.mark.parametrize("other", [1.0, 7.5e3, "12"])
def test_a_byte_count_past_2_53_stays_exact_beside_a_size_written_otherwise(other):
    big = 2**53 + 1  # a float64 cannot hold it: read through one, it became 2**53
    rows = [
        {"url": "http://h/a", "local_path": "a", "size": big},
        {"url": "http://h/b", "local_path": "b", "size": other},
    ]
    assert Manifest(rows).frame["size"].tolist() == [big, int(float(other))]
    text = json.dumps({"vodaxa_manifest": 1, "rows": rows})  # a manifest written by hand or by another tool
    assert Manifest.from_json(text).frame["size"].tolist() == [big, int(float(other))]


def test_a_size_past_2_63_beside_a_float_is_named_as_given():
    rows = [
        {"url": "http://h/a", "local_path": "a", "size": 2**64},
        {"url": "http://h/b", "local_path": "b", "size": 1.0},
    ]
    with pytest.raises(ResolveError, match=f"manifest row 0: size {2**64} is not a byte count"):
        Manifest(rows)


@pytest.mark.parametrize(
    "pairs",
    [
        [("ID", "abc\n")],
        [("ID\n", "x")],
        [("ID", "ivo://a?1\n")],
        [("ID", "\n")],
        [("ID", "a"), ("RESPONSEFORMAT\n", "v\n")],
    ],
)
def test_form_bodies_are_what_urlencode_makes_even_for_a_trailing_newline(pairs):
    # the plain test was `^...$`, and `$` also matches before a final newline: that was sent raw
    assert _form_body(pairs) == urlencode(pairs).encode()


_TABLE = (
    '<?xml version="1.0" encoding="{}"?><VOTABLE><RESOURCE type="results"><TABLE><FIELD name="ID" datatype="char"/>'
    "<DATA><TABLEDATA><TR><TD>a</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
)


@pytest.mark.parametrize("encoding", ["bogus", "rot13", "base64", "shift_jis", "utf-32", "utf-7", "idna", "undefined"])
def test_a_links_document_declaring_an_odd_encoding_is_a_resolve_error(encoding):
    with pytest.raises(ResolveError, match="readable VOTable"):
        parse_links(_TABLE.format(encoding).encode(), "http://svc/links", DATALINK_MIME)


def test_an_answer_in_an_odd_encoding_fails_its_batch_only():
    class Service:
        """Answers the first request in an encoding Python cannot read XML in, the others as usual."""

        calls = 0

        async def post(self, url: str, data: bytes, headers: object = None) -> Response:
            self.calls += 1
            ids = [v for k, v in parse_qsl(data.decode()) if k == "ID"]
            if self.calls == 1:
                return Response(200, url, {"Content-Type": DATALINK_MIME}, _TABLE.format("bogus").encode())
            body = links_document([LinkRow(i, access_url=f"http://h/{i}.fits", semantics="#this") for i in ids])
            return Response(200, url, {"Content-Type": DATALINK_MIME}, body)

    async def resolve() -> list[LinkRow]:
        engine = DataLinkEngine(Service(), batch=2, concurrency=2)  # a stand-in for HttpClient: post is all it calls
        return await engine.links("http://svc/links", [f"i{n}" for n in range(8)])

    rows = asyncio.run(resolve())
    assert {r.key for r in rows} == {f"i{n}" for n in range(8)}  # every ID: its files, or an error row saying why
    failed = [r for r in rows if r.error_message]
    assert len(failed) == 2 and all("readable VOTable" in r.error_message for r in failed)


def test_a_failing_worker_leaves_no_request_running_and_none_sent_after_the_resolve_failed():
    class Service:
        """Answers every ID after a few turns of the loop; counts the requests made and those still open."""

        calls = 0
        open = 0

        async def post(self, url: str, data: bytes, headers: object = None) -> Response:
            self.calls += 1
            self.open += 1
            try:
                for _ in range(1 + self.calls % 3):
                    await asyncio.sleep(0)
                ids = [v for k, v in parse_qsl(data.decode()) if k == "ID"]
                body = links_document([LinkRow(i, access_url=f"http://h/{i}.fits", semantics="#this") for i in ids])
                return Response(200, url, {"Content-Type": DATALINK_MIME}, body)
            finally:
                self.open -= 1

    seen: list[int] = []

    def on_rows(rows: object) -> None:  # a bug in whatever prepares the rows: the first answer's call fails
        seen.append(1)
        if len(seen) == 1:
            raise RuntimeError("preparing the rows failed")

    async def resolve() -> tuple[int, int, int, int]:
        service = Service()
        engine = DataLinkEngine(service, batch=2, concurrency=4)  # a stand-in for HttpClient: post is all it calls
        with pytest.raises(RuntimeError, match="preparing the rows failed"):
            await engine.links("http://svc/links", [f"i{n}" for n in range(40)], on_rows=on_rows)
        at_return = (service.calls, service.open)
        for _ in range(100):  # the loop turns on: nothing of the failed resolve may go on
            await asyncio.sleep(0)
        return (*at_return, service.calls, len(asyncio.all_tasks()) - 1)

    calls, still_open, calls_later, tasks_later = asyncio.run(resolve())
    assert still_open == 0 and tasks_later == 0
    assert calls_later == calls  # no request sent after the resolve failed


@pytest.mark.parametrize("columns", [["url", "local_path", "size", "size"], ["url", "local_path", "extra", "extra"]])
def test_a_manifest_naming_a_column_twice_is_refused_with_a_resolve_error(columns):
    import pandas as pd

    text = json.dumps({"vodaxa_manifest": 1, "columns": columns, "rows": [{"url": "http://h/a", "local_path": "a"}]})
    with pytest.raises(ResolveError, match="more than once"):  # was an AttributeError or a ValueError of pandas'
        Manifest.from_json(text)
    with pytest.raises(ResolveError, match="more than once"):
        Manifest(pd.DataFrame([["http://h/a", "a", None, None]], columns=columns))


@pytest.mark.parametrize("encoding", ["bogus", "rot13", "utf-32"])
def test_an_association_tree_in_an_encoding_expat_cannot_read_is_a_resolve_error(encoding):
    from vodaxa.archives.eso.calselector import parse_tree

    body = f'<?xml version="1.0" encoding="{encoding}"?><association/>'.encode()
    with pytest.raises(ResolveError, match="readable association tree"):
        parse_tree(body)
