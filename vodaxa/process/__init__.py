"""Processing: steps that turn downloaded data into cleaned events and images, recorded in a ledger
beside the data, rerun only where missing, on a local pool or any ``concurrent.futures`` executor
(a dask.distributed ``Client.get_executor()`` spreads them over a cluster).  The steps are in
`vodaxa.process.native` (no CIAO needed), `vodaxa.process.chandra` (CIAO) and `vodaxa.process.unpack`::

    ws = vodaxa.process.Workspace("data/")              # the folder vodaxa.download filled
    vodaxa.process.chandra.full_process_chandra(ws)     # CIAO, as DAXA runs it
    vodaxa.process.native.reduce(ws)                    # no CIAO: filtering, flare GTIs, images, rate maps
    ws.summary(); ws.update()                           # what ran; replay recorded steps, only what is missing
"""

from __future__ import annotations

from . import chandra, native, unpack
from .runner import ProcessReport, Task, TaskResult, Workspace, execute, run_step

__all__ = [
    "STEPS", "ProcessReport", "Task", "TaskResult", "Workspace", "chandra", "execute", "native", "run_step", "unpack",
]  # fmt: skip

#: Every step :meth:`Workspace.update` can replay, by the name it is recorded under.
STEPS = {
    "prepare_chandra_info": chandra.prepare_chandra_info,
    "chandra_repro": chandra.chandra_repro,
    "deflare": chandra.deflare,
    "cleaned_chandra_evts": chandra.cleaned_chandra_evts,
    "flux_image": chandra.flux_image,
    "rate_image": chandra.rate_image,
    "native_reduce": native.reduce,
    "unpack": unpack.unpack,
}
