"""``vodaxa login|logout|whoami``: credentials, kept in keyring or the environment, never in files."""

from __future__ import annotations

import argparse

__all__ = ["add_commands"]


def cmd_login(args: argparse.Namespace) -> int:
    """Log in (password from the environment, keyring or a prompt), check it with a token, optionally store it."""
    from ..auth import login

    token = login(
        args.archive,
        args.username,
        prompt=not args.no_prompt,
        store=args.store,
        allow_http_loopback=args.allow_http_loopback,
    )
    stored = " (password stored in the system keyring)" if args.store else ""
    print(f"logged in to {args.archive} as {token.credential.username}{stored}")
    if args.store:
        from ..auth.credentials import remember_username

        remember_username(args.archive, token.credential.username or "")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    """Forget the stored password (and username) of an archive."""
    from ..auth import logout
    from ..auth.credentials import forget, remembered_username

    user = args.username or remembered_username(args.archive)
    logout(args.archive)
    if user:
        forget(args.archive, user)
    print(f"logged out of {args.archive}" + (f" ({user}'s stored password removed)" if user else ""))
    return 0


def cmd_whoami(args: argparse.Namespace) -> int:
    """Which archives have credentials available to a new vodaxa process, and from where (never the secret)."""
    from ..auth.credentials import find, remembered_username

    for archive in ("eso", "xsa"):
        found = find(archive, username=remembered_username(archive))
        print(f"{archive}: " + (f"{found.username or '(token)'} from {found.source}" if found else "no credentials"))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register login, logout and whoami."""
    login_p = sub.add_parser("login", help="log in to an archive (ESO) and optionally store the password in keyring")
    login_p.add_argument("archive", choices=["eso"])
    login_p.add_argument("--username", default=None)
    login_p.add_argument("--store", action="store_true", help="store the password in the system keyring")
    login_p.add_argument("--no-prompt", action="store_true", help="never ask; fail if no credentials are found")
    login_p.add_argument("--allow-http-loopback", action="store_true", help="allow plain http to 127.0.0.1")
    login_p.set_defaults(func=cmd_login)
    logout_p = sub.add_parser("logout", help="forget an archive's stored credentials")
    logout_p.add_argument("archive", choices=["eso", "xsa"])
    logout_p.add_argument("--username", default=None)
    logout_p.set_defaults(func=cmd_logout)
    whoami_p = sub.add_parser("whoami", help="which credentials vodaxa would use")
    whoami_p.set_defaults(func=cmd_whoami)
