"""``vodaxa login / logout / whoami`` on the sandbox, with an in-memory keyring."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest

from vodaxa import auth
from vodaxa.cli import main
from vodaxa.config import endpoints
from vodaxa.sandbox import Sandbox, SandboxConfig

from .test_credentials import MemoryKeyring


@pytest.fixture(scope="module")
def sb(tmp_path_factory) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(rows=30, archives=("eso",), cache=tmp_path_factory.mktemp("cli-auth"))) as sandbox:
        yield sandbox


@pytest.fixture
def env(sb, monkeypatch) -> Iterator[MemoryKeyring]:
    for var in ("TOKEN", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"VODAXA_ESO_{var}", raising=False)
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    with endpoints.override(sb.endpoints):
        yield backend
    keyring.set_keyring(previous)
    auth.logout("eso")


def test_login_store_whoami_logout(env, monkeypatch, capsys):
    monkeypatch.setenv("VODAXA_ESO_USERNAME", "astro")
    monkeypatch.setenv("VODAXA_ESO_PASSWORD", "correct horse")
    assert main(["login", "eso", "--store", "--no-prompt", "--allow-http-loopback"]) == 0
    assert "logged in to eso as astro" in capsys.readouterr().out
    assert "correct horse" in env.store.values()  # in the keyring, nowhere else
    monkeypatch.delenv("VODAXA_ESO_USERNAME")
    monkeypatch.delenv("VODAXA_ESO_PASSWORD")
    assert main(["whoami"]) == 0
    out = capsys.readouterr().out
    assert "eso: astro from keyring" in out and "correct horse" not in out
    assert main(["logout", "eso"]) == 0
    assert "correct horse" not in env.store.values()
    main(["whoami"])
    assert "eso: no credentials" in capsys.readouterr().out


def test_login_errors_are_one_line(env, monkeypatch, capsys):
    monkeypatch.setenv("VODAXA_ESO_USERNAME", "astro")
    monkeypatch.setenv("VODAXA_ESO_PASSWORD", "wrong")
    assert main(["login", "eso", "--no-prompt", "--allow-http-loopback"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "wrong username or password" in err
    monkeypatch.delenv("VODAXA_ESO_PASSWORD")
    monkeypatch.delenv("VODAXA_ESO_USERNAME")
    assert main(["login", "eso", "--no-prompt"]) == 2
    assert "VODAXA_ESO_USERNAME" in capsys.readouterr().err


def test_search_login_uses_the_stored_password_across_sessions(env, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    monkeypatch.setenv("VODAXA_ESO_USERNAME", "astro")
    monkeypatch.setenv("VODAXA_ESO_PASSWORD", "correct horse")
    assert main(["login", "eso", "--store", "--no-prompt", "--allow-http-loopback"]) == 0
    auth.logout("eso")  # a new shell: only the keyring remembers
    monkeypatch.delenv("VODAXA_ESO_USERNAME")
    monkeypatch.delenv("VODAXA_ESO_PASSWORD")
    capsys.readouterr()
    anonymous, mine = tmp_path / "anon.csv", tmp_path / "mine.csv"
    assert main(["search", "eso", "-o", str(anonymous)]) == 0
    assert main(["search", "eso", "--login", "-o", str(mine)]) == 0
    err = capsys.readouterr().err
    assert "logged in to eso" in err and "correct horse" not in err
    import pandas as pd

    public = pd.read_csv(anonymous, dtype={"obs_id": str})
    everything = pd.read_csv(mine, dtype={"obs_id": str})
    assert set(public["obs_id"]) < set(everything["obs_id"])  # the proprietary frames appear only logged in
    auth.logout("eso")
    env.store.clear()
    assert main(["search", "eso", "--login"]) == 2
    assert "no ESO credentials are stored; run 'vodaxa login eso --store'" in capsys.readouterr().err


def test_login_says_what_persists(env, monkeypatch, capsys):
    """Issue 15 item 6: a login without --store says it lasts for that command only (a prompt's password) or
    where later commands will find the credentials."""
    monkeypatch.setenv("VODAXA_ESO_USERNAME", "astro")
    monkeypatch.setenv("VODAXA_ESO_PASSWORD", "correct horse")
    assert main(["login", "eso", "--no-prompt", "--allow-http-loopback"]) == 0
    assert "found in the environment: later commands will find them there too" in capsys.readouterr().out
    monkeypatch.delenv("VODAXA_ESO_PASSWORD")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "correct horse")
    monkeypatch.setattr("vodaxa.auth.credentials._interactive", lambda: True)  # as at a terminal
    assert main(["login", "eso", "--allow-http-loopback"]) == 0
    assert "not stored: they last for this command only" in capsys.readouterr().out


def test_store_without_a_keyring_backend_is_refused_before_any_prompt(env, monkeypatch, capsys):
    from keyring.backends.fail import Keyring as Failing

    keyring.set_keyring(Failing())
    asked: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": asked.append(prompt) or "x")
    assert main(["login", "eso", "--store", "--allow-http-loopback"]) == 2
    err = capsys.readouterr().err
    assert asked == [] and "VODAXA_ESO_PASSWORD" in err and "no usable keyring backend" in err


def test_no_terminal_to_prompt_on_is_one_clear_error(env, monkeypatch, capsys):
    def closed(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", closed)
    monkeypatch.setattr("getpass.getpass", closed)
    monkeypatch.setattr("vodaxa.auth.credentials._interactive", lambda: True)  # a terminal that goes away
    assert main(["login", "eso", "--allow-http-loopback"]) == 2
    err = capsys.readouterr().err
    assert "no terminal to ask" in err and "EOFError" not in err
    monkeypatch.setattr("vodaxa.auth.credentials._interactive", lambda: False)  # none at all: no prompt printed
    assert main(["login", "eso", "--allow-http-loopback"]) == 2
    captured = capsys.readouterr()
    assert "username:" not in captured.out + captured.err and "VODAXA_ESO_PASSWORD" in captured.err


def test_whoami_check_tries_the_password(env, monkeypatch, capsys):
    monkeypatch.setenv("VODAXA_ESO_USERNAME", "astro")
    monkeypatch.setenv("VODAXA_ESO_PASSWORD", "wrong")
    assert main(["whoami"]) == 0  # found: says nothing of whether it works
    assert main(["whoami", "--check", "--allow-http-loopback"]) == 2
    assert "REFUSED" in capsys.readouterr().out
    monkeypatch.setenv("VODAXA_ESO_PASSWORD", "correct horse")
    assert main(["whoami", "--check", "--allow-http-loopback"]) == 0
    assert "checked: ESO issued a token" in capsys.readouterr().out


def test_login_xsa_finds_and_stores(env, monkeypatch, capsys):
    """Issue 15 item 4: the advice 'vodaxa login xsa --store' is a command that works."""
    monkeypatch.setenv("VODAXA_XSA_USERNAME", "pi")
    monkeypatch.setenv("VODAXA_XSA_PASSWORD", "xsa secret")
    assert main(["login", "xsa", "--store", "--no-prompt"]) == 0
    out = capsys.readouterr().out
    assert "xsa: credentials for pi found" in out and "stored in the system keyring" in out
    assert "xsa secret" in env.store.values() and "xsa secret" not in out
