"""The same chains through a dask.distributed LocalCluster: tasks run in worker processes, results are the same."""

from __future__ import annotations

import json
import os

import pytest

from vodaxa.process import Workspace, chandra, native

from .conftest import ACIS, HRC

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as lc, distributed.Client(lc) as client:  # fmt: skip
        yield client


def test_ciao_chain_and_native_reductions_on_a_dask_cluster(data, ciao, cluster):
    cluster.run(
        lambda path, log: os.environ.update(PATH=path, FAKE_CIAO_LOG=log),
        os.environ["PATH"],
        os.environ["FAKE_CIAO_LOG"],
    )  # the workers see the (fake) CIAO, as on a cluster
    executor = cluster.get_executor()
    ws = Workspace(data)
    report = chandra.full_process_chandra(ws, executor=executor)
    assert not len(report.failed), report.summary()
    for obs, inst in ((ACIS[0], "ACIS"), (ACIS[1], "ACIS"), (HRC, "HRC")):
        assert ws.ledger.succeeded("rate_image", f"{obs}{inst}E001")
    workers = {pid for pid in cluster.run(os.getpid).values()}
    callers = {json.loads(line)["ppid"] for line in ciao.read_text().splitlines()
               if json.loads(line)["tool"] != "ciaover"}  # fmt: skip
    assert callers <= workers and os.getpid() not in callers  # every CIAO command was started by a worker

    reduced = native.reduce(ws, executor=executor)
    assert not len(reduced.failed) and len(reduced.ok) == len(native.find_event_lists(ws))
    assert chandra.full_process_chandra(ws, executor=executor).ok == []  # a rerun on the cluster skips it all
