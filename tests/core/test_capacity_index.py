"""The capacity index stands alone: a backend can ask what fits without a Scheduler."""

import pytest

from builders import job, nodes
from corral.core import CapacityIndex, JobRecords, NodeGrant, Placement
from corral.model import InvalidSpec


def test_what_fits_and_what_a_grant_takes():
    index = CapacityIndex(nodes(8, 4))
    assert index.ever_fits(job("a", tasks=3, gpus=4))
    assert not index.ever_fits(job("b", tasks=4, gpus=4))
    assert index.capacity_tasks(job("c", gpus=2)).tolist() == [4, 2]
    big = job("d", tasks=2, gpus=4)
    index.take(big, Placement((NodeGrant(0, 2, (0, 1, 2, 3, 4, 5, 6, 7), 1000),)), -1)
    assert index.whole_free.tolist() == [0, 4]
    index.take(big, Placement((NodeGrant(0, 2, (0, 1, 2, 3, 4, 5, 6, 7), 1000),)), +1)
    assert index.whole_free.tolist() == [8, 4]


def test_bad_node_lists_are_named():
    with pytest.raises(InvalidSpec, match="at least one node"):
        CapacityIndex([])
    with pytest.raises(InvalidSpec, match="unique"):
        CapacityIndex(nodes(1) + nodes(1))


def test_records_credit_a_preempted_segment_and_forget_a_finished_job():
    records = JobRecords()
    a = job("a", tasks=2)
    records.jobs["a"] = a
    records.preempted(a, since=10.0, now=40.0)
    assert (records.attained["a"], records.last_run["a"], records.preemptions["a"],
            records.pending_since["a"]) == (60.0, 30.0, 1, 40.0)
    records.forget("a")
    assert not records.attained and not records.jobs and not records.pending_since
