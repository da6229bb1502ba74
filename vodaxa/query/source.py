"""Where a mission's queries go and how answers come back: the archive's TAP service named by vodaxa's endpoints,
and its answers as the normalised observation table.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
from astropy.table import Table

from ..config import endpoints
from ..net.policy import is_loopback
from ..specs.registry import MissionSpec
from .cache import default_cache
from .compile_adql import Compiled
from .tap import TapRunner

__all__ = ["run", "runner_for", "to_frame"]

log = logging.getLogger(__name__)


def runner_for(spec: MissionSpec, current: TapRunner | None = None) -> TapRunner:
    """The runner for the spec's service (``current`` when it still points there)."""
    from .. import auth

    url = endpoints.get(spec.archive, spec.service)
    if current is not None and current.url == url:
        return current
    # a service on this machine (the sandbox, a test server) is quick to ask and may be another one on
    # the same port tomorrow: its answers are not cached on disk, where they would outlive it
    local = is_loopback(urlsplit(url).hostname)
    return TapRunner(url, session=auth.session(), cache=None if local else default_cache())


def run(spec: MissionSpec, runner: TapRunner, compiled: Compiled, now: datetime | None = None) -> pd.DataFrame:
    """The normalised rows of one compiled query (signed in where the user is, for proprietary rows)."""
    from .. import auth

    log.debug("%s ADQL:\n%s", spec.name, compiled.adql)
    signed_in = auth.scope().realm_of(runner.url + "/sync") is not None
    table = runner.run(compiled.adql, uploads=compiled.uploads or None, authenticated=signed_in)
    return spec.normalise(to_frame(table), now=now)


def to_frame(table: Table) -> pd.DataFrame:
    """An astropy Table as a DataFrame: masked numbers NaN, masked text None, bytes decoded."""
    data: dict[str, Any] = {}
    for name in table.colnames:
        col = table[name]
        mask = np.asarray(getattr(col, "mask", np.zeros(len(col), dtype=bool)), dtype=bool)
        values = np.asarray(col)
        if values.dtype.kind in "OSU":
            data[name] = [None if m else (v.decode() if isinstance(v, bytes) else v) for v, m in zip(values, mask)]
        elif values.dtype.kind in "iufb" and mask.any():
            data[name] = np.where(mask, np.nan, values.astype(float))
        else:
            data[name] = values
    return pd.DataFrame(data)
