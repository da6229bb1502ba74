"""Where credentials come from, and that their secrets never show."""

from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend

from vodaxa.auth.credentials import Credential, find, forget, keyring_service, remember
from vodaxa.errors import AuthError


class MemoryKeyring(KeyringBackend):
    """An in-memory keyring for tests."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring(monkeypatch):
    for var in ("TOKEN", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"VODAXA_ESO_{var}", raising=False)
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_environment_first(memory_keyring, monkeypatch):
    monkeypatch.setenv("VODAXA_ESO_USERNAME", "astro")
    monkeypatch.setenv("VODAXA_ESO_PASSWORD", "pw-from-env")
    found = find("eso")
    assert found.username == "astro" and found.secret == "pw-from-env" and found.source == "environment"
    monkeypatch.setenv("VODAXA_ESO_TOKEN", "a.b.c")
    assert find("eso").kind == "token"


def test_keyring_vodaxa_then_astroquery(memory_keyring):
    assert find("eso", username="astro") is None
    memory_keyring.set_password("astroquery:www.eso.org", "astro", "pw-astroquery")
    found = find("eso", username="astro")
    assert found.secret == "pw-astroquery" and found.source == "astroquery keyring"
    remember(Credential("eso", "astro", "pw-vodaxa"))
    assert (keyring_service("eso"), "astro") in memory_keyring.store
    assert find("eso", username="astro").secret == "pw-vodaxa"
    forget("eso", "astro")
    assert find("eso", username="astro").source == "astroquery keyring"


def test_daxa_forms(memory_keyring, tmp_path):
    assert find("xsa", credentials={"user": "u", "password": "p"}).username == "u"
    ini = tmp_path / "creds.ini"
    ini.write_text("[xmm_newton]\nusername = u2\npassword = p2\n")
    assert find("xsa", credentials=str(ini)).secret == "p2"
    with pytest.raises(AuthError, match="need 'user' and 'password'"):
        find("xsa", credentials={"user": "u"})


def test_secrets_never_show(memory_keyring):
    cred = Credential("eso", "astro", "hunter2-secret")
    assert "hunter2" not in repr(cred) and "hunter2" not in str(cred) and "hunter2" not in f"{cred}"


def test_missing_keyring_backend_says_what_to_do(monkeypatch):
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(AuthError, match="VODAXA_ESO_USERNAME"):
            remember(Credential("eso", "astro", "pw"))
        monkeypatch.delenv("VODAXA_ESO_TOKEN", raising=False)
        monkeypatch.delenv("VODAXA_ESO_PASSWORD", raising=False)
        assert find("eso", username="astro") is None  # an unusable keyring is skipped, not fatal
    finally:
        keyring.set_keyring(previous)


def test_two_archives_on_one_host_keep_their_own_keyring_entries(memory_keyring, vodaxa_sandbox):
    # the sandbox serves ESO and the XSA on 127.0.0.1, on two ports (found by a new-user walk: an ESO password
    # stored with --store was shown, and would have been used, as the XSA's)
    assert keyring_service("eso") != keyring_service("xsa")
    assert keyring_service("eso").startswith("vodaxa:127.0.0.1:")
    remember(Credential("eso", "astro", "pw-eso"))
    assert find("xsa", username="astro") is None
    assert find("eso", username="astro").secret == "pw-eso"
