"""``vodaxa login|logout|whoami``: credentials, kept in keyring or the environment, never in files."""

from __future__ import annotations

import argparse

__all__ = ["add_commands"]


def cmd_login(args: argparse.Namespace) -> int:
    """Log in (ESO: a token proves the password) or check that credentials are at hand (XSA), and optionally
    store them in the system keyring, which is checked first, before anyone is asked for a password."""
    from ..auth import find, login, remember
    from ..auth.credentials import keyring_problem, remember_username
    from ..errors import AuthError

    if args.store:
        problem = keyring_problem(args.archive)
        if problem:
            raise AuthError(problem)
    if args.archive == "eso":
        token = login("eso", args.username, prompt=not args.no_prompt, store=args.store,
                      allow_http_loopback=args.allow_http_loopback)  # fmt: skip
        credential = token.credential
        first = f"logged in to eso as {credential.username or '(token)'} (ESO issued a token: the password is right)"
    else:  # the XSA takes its credentials with each request: nothing to check until one is made
        found = find("xsa", username=args.username, prompt=not args.no_prompt)
        if found is None:
            raise AuthError("no XSA credentials found: set VODAXA_XSA_USERNAME and VODAXA_XSA_PASSWORD, or run "
                            "'vodaxa login xsa --store' on a terminal")  # fmt: skip
        credential = found
        if args.store and credential.source != "keyring":
            remember(credential)
        first = (f"xsa: credentials for {credential.username} found (not checked: the XSA checks them with each "
                 "download)")  # fmt: skip
    print(first)
    if args.store:
        remember_username(args.archive, credential.username or "")
        print("stored in the system keyring: later vodaxa commands and sessions will find them")
    elif credential.source in ("environment", "keyring", "astroquery keyring"):
        print(f"found in the {credential.source}: later commands will find them there too")
    else:
        print("not stored: they last for this command only. Add --store to keep them in the system keyring, or "
              f"set VODAXA_{args.archive.upper()}_USERNAME and VODAXA_{args.archive.upper()}_PASSWORD")
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
    """Which archives have credentials available to a new vodaxa process, and from where (never the secret);
    with ``--check``, ESO's are tried against the archive (a token is requested)."""
    from ..auth import login
    from ..auth.credentials import find, remembered_username
    from ..errors import VodaxaError

    failed = False
    for archive in ("eso", "xsa"):
        found = find(archive, username=remembered_username(archive))
        line = f"{archive}: " + (f"{found.username or '(token)'} from {found.source}" if found else "no credentials")
        if found and args.check and archive == "eso":
            try:
                login("eso", credentials=found if found.kind == "password" else None,
                      allow_http_loopback=args.allow_http_loopback)  # fmt: skip
                line += " (checked: ESO issued a token)"
            except VodaxaError as err:
                line += f" (REFUSED: {err})"
                failed = True
        elif found and args.check:
            line += " (not checkable before a download: the XSA checks them per request)"
        print(line)
    return 2 if failed else 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register login, logout and whoami."""
    login_p = sub.add_parser("login", help="log in to an archive (ESO, XSA) and optionally store it in the keyring")
    login_p.add_argument("archive", choices=["eso", "xsa"])
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
    whoami_p.add_argument("--check", action="store_true", help="try them against the archive (ESO: request a token)")
    whoami_p.add_argument("--allow-http-loopback", action="store_true", help="allow plain http to 127.0.0.1")
    whoami_p.set_defaults(func=cmd_whoami)
