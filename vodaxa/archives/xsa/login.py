"""The XSA's credentials: a user name and password sent as AIOUSER/AIOPWD query parameters on AIO URLs, per
ObsID when DAXA's per-observation form is given (each PI's tarballs with their own credentials)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl, urlsplit

from ...auth.credentials import Credential

__all__ = ["aio_params"]


def aio_params(default: Credential | None, per_obs: Mapping[str, Credential]) -> Callable[[str], dict[str, str]]:
    """The query parameters for one AIO URL: the credential of its ``obsno`` (zero-padded), else ``default``."""

    def params(url: str) -> dict[str, str]:
        obsno = dict(parse_qsl(urlsplit(url).query)).get("obsno", "")
        chosen = per_obs.get(obsno.zfill(10)) if per_obs else default
        return {"AIOUSER": chosen.username or "", "AIOPWD": chosen.secret} if chosen else {}

    return params
