"""Loopback only: while active, a connection or name lookup for any host but this machine fails loudly.

The tests, the notebooks run in CI, the benchmarks and ``vodaxa demo`` run under it, so "nothing
leaves this machine" is checked rather than hoped for: `loopback_only` for a ``with`` block, `forbid_remote` for
the rest of the process.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Callable, Iterator

__all__ = ["forbid_remote", "is_local", "loopback_only"]

_LOCAL_NAMES = {"localhost", "localhost.localdomain", ""}


def is_local(host: object) -> bool:
    """Tell whether a host stays on this machine.

    Parameters
    ----------
    host : object
        A host name or address (str or bytes; an IPv6 zone is ignored), or a socket's non-IP address (a Unix
        socket's path, ...), which is local.

    Returns
    -------
    bool
        True for ``localhost``, an empty name, loopback and unspecified addresses, and non-IP addresses.

    Examples
    --------
    >>> from vodaxa.sandbox.offline import is_local
    >>> is_local("127.0.0.1"), is_local("::1"), is_local("localhost"), is_local("archive.eso.org")
    (True, True, True, False)
    """
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str) or host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


@contextlib.contextmanager
def loopback_only(who: str = "this run") -> Iterator[None]:
    """Refuse connections and name lookups for other hosts inside the ``with`` block.

    ``socket.connect``, ``connect_ex`` and ``sendto`` to another host raise ConnectionRefusedError, and
    ``getaddrinfo``, ``gethostbyname`` and ``gethostbyname_ex`` of another name raise ``socket.gaierror``;
    loopback goes through.  Guards nest: each restores what it found.

    Parameters
    ----------
    who : str, optional
        Who is guarded, named in the errors (``"this run"`` by default).

    Yields
    ------
    None
        Nothing: the guard holds inside the block.

    See Also
    --------
    forbid_remote : The same guard for the rest of the process.

    Examples
    --------
    >>> import socket
    >>> from vodaxa.sandbox.offline import loopback_only
    >>> with loopback_only("this example"):
    ...     socket.getaddrinfo("archive.eso.org", 443)
    Traceback (most recent call last):
    ...
    socket.gaierror: [Errno ...] this example may only resolve loopback names, not 'archive.eso.org'
    """
    patched = ((socket.socket, "connect"), (socket.socket, "connect_ex"), (socket.socket, "sendto"),
               (socket, "getaddrinfo"), (socket, "gethostbyname"), (socket, "gethostbyname_ex"))  # fmt: skip
    real = {key: getattr(*key) for key in patched}

    def check(address: object) -> None:
        if isinstance(address, tuple) and not is_local(address[0]):
            raise ConnectionRefusedError(f"{who} may only reach loopback, not {address[0]!r}")

    def connect(self: socket.socket, address: object) -> None:
        check(address)
        return real[socket.socket, "connect"](self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        check(address)
        return real[socket.socket, "connect_ex"](self, address)

    def sendto(self: socket.socket, data: bytes, *args: object) -> int:  # (data, address) or (data, flags, address)
        check(args[-1] if args else None)
        return real[socket.socket, "sendto"](self, data, *args)

    def lookup(name: str) -> Callable[..., object]:
        def guarded(host: object, *args: object, **kwargs: object) -> object:
            if host is not None and not is_local(host):
                raise socket.gaierror(socket.EAI_NONAME, f"{who} may only resolve loopback names, not {host!r}")
            return real[socket, name](host, *args, **kwargs)

        return guarded

    replacement = {
        (socket.socket, "connect"): connect, (socket.socket, "connect_ex"): connect_ex,
        (socket.socket, "sendto"): sendto, (socket, "getaddrinfo"): lookup("getaddrinfo"),
        (socket, "gethostbyname"): lookup("gethostbyname"), (socket, "gethostbyname_ex"): lookup("gethostbyname_ex"),
    }  # fmt: skip
    for (owner, name), function in replacement.items():
        setattr(owner, name, function)
    try:
        yield
    finally:
        for (owner, name), function in real.items():
            setattr(owner, name, function)


_ACTIVE: list[contextlib.AbstractContextManager[None]] = []  # guards entered for the rest of the process


def forbid_remote(who: str = "this process") -> None:
    """Refuse connections and name lookups for other hosts for the rest of the process: :func:`loopback_only`
    without a block, for a notebook kernel, where no block spans cells.

    The guard stays until the process ends; the tutorials run in CI start with
    ``forbid_remote('this notebook')``.

    Parameters
    ----------
    who : str, optional
        Who is guarded, named in the errors (``"this process"`` by default).
    """
    guard = loopback_only(who)
    guard.__enter__()
    _ACTIVE.append(guard)  # kept: a collected guard would restore the sockets
