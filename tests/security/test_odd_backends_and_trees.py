"""Issue 14 items 6 and 15: a keyring backend raising anything is "no keyring" (or an AuthError saying what to
do), never a bare exception; an association tree nested thousands deep is a ResolveError, not RecursionError."""

from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend

from vodaxa.archives.eso.calselector import MAX_TREE_DEPTH, parse_tree
from vodaxa.auth.credentials import Credential, find, remember
from vodaxa.errors import AuthError, ResolveError


class Broken(KeyringBackend):
    """A third-party backend that fails with something other than KeyringError."""

    priority = 1

    def get_password(self, service, username):
        raise RuntimeError("the backend's daemon is gone")

    def set_password(self, service, username, password):
        raise RuntimeError("the backend's daemon is gone")

    def delete_password(self, service, username):
        raise RuntimeError("the backend's daemon is gone")


@pytest.fixture
def broken(monkeypatch):
    for name in ("TOKEN", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"VODAXA_ESO_{name}", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(Broken())
    yield
    keyring.set_keyring(previous)


def test_a_failing_backend_is_no_keyring_for_lookups(broken):
    assert find("eso", username="astro") is None


def test_a_failing_backend_says_what_to_do_when_storing(broken):
    with pytest.raises(AuthError, match="VODAXA_ESO_USERNAME") as caught:
        remember(Credential("eso", "astro", "s3cret-marker", "password", "given"))
    assert "s3cret-marker" not in str(caught.value)


@pytest.mark.parametrize("depth", [MAX_TREE_DEPTH + 1, 5000])
def test_deep_association_trees_are_refused_clearly(depth):
    inner = '<association category="BIAS" type="main"><mainFiles/><messages/><associatedFiles>'
    body = ('<association category="SCI" mode="Raw2Raw" type="main"><mainFiles/><messages/><associatedFiles>'
            + inner * depth + "</associatedFiles></association>" * (depth + 1)).encode()  # fmt: skip
    with pytest.raises(ResolveError, match="nested deeper than"):
        parse_tree(body)


def test_a_tree_at_the_limit_is_read():
    depth = MAX_TREE_DEPTH
    inner = '<association category="BIAS" type="main"><mainFiles/><messages/><associatedFiles>'
    body = ('<association category="SCI" mode="Raw2Raw" type="main"><mainFiles/><messages/><associatedFiles>'
            + inner * (depth - 1) + "</associatedFiles></association>" * depth).encode()  # fmt: skip
    assert parse_tree(body).category == "SCI"


def test_deeply_nested_datalink_documents_are_refused_at_once():
    """30,000 nested RESOURCEs once took minutes of quadratic scanning on the event loop; now a clear error."""
    from vodaxa.errors import ResolveError
    from vodaxa.resolvers.datalink import MAX_XML_DEPTH, parse_links

    deep = b"<VOTABLE>" + b"<RESOURCE>" * 30_000 + b"</RESOURCE>" * 30_000 + b"</VOTABLE>"
    with pytest.raises(ResolveError, match=f"deeper than {MAX_XML_DEPTH} levels"):
        parse_links(deep, "http://127.0.0.1:9/links")
    fields = '<FIELD name="ID"/><FIELD name="access_url"/>'
    wide = (b'<VOTABLE>' + b"<RESOURCE/>" * 20_000 + b'<RESOURCE type="results"><TABLE>' + fields.encode()
            + b"<DATA><TABLEDATA><TR><TD>a</TD><TD>http://127.0.0.1:9/f.fits</TD></TR></TABLEDATA></DATA></TABLE>"
            + b"</RESOURCE></VOTABLE>")  # fmt: skip
    assert [r.access_url for r in parse_links(wide, "http://127.0.0.1:9/links").rows] == ["http://127.0.0.1:9/f.fits"]
