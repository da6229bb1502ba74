"""vodaxa.sandbox: an offline archive on 127.0.0.1 that answers in the real archives' shapes.

    with vodaxa.sandbox.serve(rows=500) as sb:
        print(sb.url, sb.endpoints)   # vodaxa's endpoints point here inside the block

    sb = vodaxa.sandbox.activate(rows=500)   # in a notebook: until sb.stop()

HEASARC's shape (Xamin TAP, DataLink, the /FTP tree) comes first; the ESO and CXC shapes are
further applications beside it.  Data are synthetic and deterministic for a given config.
"""

from .base import SandboxConfig
from .faults import Faults
from .server import Sandbox, activate, serve, today_mjd
from .tap import JobLimits

__all__ = ["Faults", "JobLimits", "Sandbox", "SandboxConfig", "activate", "serve", "today_mjd"]
